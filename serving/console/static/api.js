/* Nabız console: every call to the REST API, and what its failures mean in Turkish.
   request() adds "Authorization: Bearer <key>" when a key is stored and resolves {data, etag};
   a failure is an Error whose message is a Turkish sentence for the people using the console
   (errorText); the API's English detail goes only to the browser's console, for support. */
(function () {
  "use strict";
  var KEY_STORE = "nabiz.apiKey";
  var hooks = { unauthorized: function () {}, loaded: function () {} };

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
    sentiment: "Duygu", urgency: "Aciliyet", aksiyon: "Aksiyon",
  };

  function fieldName(loc) {
    var names = (loc || []).filter(function (part) { return FIELDS[part]; });
    if (!names.length) return "";
    var last = FIELDS[names[names.length - 1]];
    // corrections.<task>: "Düzeltmeler (Konu)"
    return names.length > 1 && names[0] === "corrections" ? FIELDS.corrections + " (" + last + ")" : last;
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

  function request(path, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    var key = localStorage.getItem(KEY_STORE);
    if (key) headers.Authorization = "Bearer " + key;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (options.etag) headers["If-Match"] = options.etag;
    var method = options.method || "GET";
    return fetch(path, {
      method: method,
      headers: headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    }).catch(function (error) {
      throw failure(0, path, String(error && error.message));
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) {
          if (method === "GET") hooks.loaded();
          return { data: data, etag: response.headers.get("ETag") };
        }
        if (response.status === 401) hooks.unauthorized(); // a key to enter; not for 403
        throw failure(response.status, path, data.detail, data.request_id);
      });
    });
  }
  function api(path, options) {
    return request(path, options).then(function (answer) { return answer.data; });
  }

  window.NabizApi = { KEY_STORE: KEY_STORE, hooks: hooks, request: request, api: api, errorText: errorText };
})();
