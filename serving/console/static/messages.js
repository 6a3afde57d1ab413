/* Nabız console: what a failed call to the REST API means, in Turkish, for the people using the
   console (they do not read JSON). failure() makes the Error that app.js's api() throws: its
   message is a Turkish sentence chosen by HTTP status (0: no answer at all); the API's English
   detail goes only to the browser's console (console.warn), for support. */
(function () {
  "use strict";
  var BUSY = "Sunucu şu an meşgul ya da veritabanına ulaşılamıyor; birazdan yeniden deneyin.";
  var MESSAGES = {
    0: "Sunucuya ulaşılamadı. Bağlantınızı kontrol edip yeniden deneyin.",
    401: "API anahtarı gerekli ya da girilen anahtar geçersiz. Sağ üstteki “Anahtar” düğmesinden geçerli bir anahtar girin.",
    403: "Bu API anahtarının bu işlem için yetkisi yok. Yetkili bir anahtar için yöneticinize başvurun.",
    404: "Kayıt bulunamadı. Silinmiş ya da bağlantı hatalı olabilir.",
    409: "Bu kayıt başka bir kayıtla çakışıyor.",
    412: "Bu kayıt siz açtıktan sonra başkası tarafından değiştirildi. Sayfayı yenileyip değişikliklerinizi yeniden yapın.",
    413: "Gönderilen bilgi çok büyük; kısaltıp yeniden deneyin.",
    429: BUSY,
    503: BUSY,
  };
  // the names of the fields the console sends, as its forms call them
  var FIELDS = {
    received_from: "Başlangıç", received_to: "Bitiş", start: "Dönem başı", period: "Dönem",
    by: "Kırılım", status: "Durum", level: "Seviye", channel: "Kanal", topic: "Konu",
    corrected_by: "Adınız", corrections: "Düzeltmeler", feedback_id: "Kayıt numarası",
    acknowledged: "Göster", limit: "Sayfa", offset: "Sayfa",
  };

  function fieldName(loc) {
    var parts = loc || [];
    var at = parts.indexOf("corrections");
    // corrections.<task>: "Düzeltmeler (Konu)", the task as the model names it (labels.js)
    if (at >= 0 && parts[at + 1] !== undefined) {
      return FIELDS.corrections + " (" + window.NabizLabels.taskTitle(String(parts[at + 1])) + ")";
    }
    var names = parts.filter(function (part) { return FIELDS[part]; });
    return names.length ? FIELDS[names[names.length - 1]] : "";
  }

  // The Turkish sentence for a failed call: status 0 is "no answer at all".
  function errorText(status, detail) {
    if (status === 422) {
      var field = Array.isArray(detail) && detail.length ? fieldName(detail[0].loc) : "";
      return field ? "Girilen bilgi kabul edilmedi: “" + field + "” alanını kontrol edip yeniden deneyin." :
        "Girilen bilgilerden biri kabul edilmedi; kontrol edip yeniden deneyin.";
    }
    if (MESSAGES[status]) return MESSAGES[status];
    if (status >= 500) return "Sunucuda beklenmeyen bir hata oldu. Birazdan yeniden deneyin; sürerse destek ekibine bildirin.";
    return "İstek yerine getirilemedi (kod " + status + "). Sayfayı yenileyip yeniden deneyin.";
  }

  function failure(status, path, detail, requestId) {
    var text = typeof detail === "string" ? detail : JSON.stringify(detail);
    if (window.console && console.warn) console.warn("Nabız API:", status || "no answer", path, text, requestId || "");
    var error = new Error(errorText(status, detail));
    error.status = status;
    error.detail = detail;
    return error;
  }

  window.NabizMessages = { errorText: errorText, failure: failure };
})();
