/* Nabız console: a small single-page app over the same REST API as every other client.
   Views (hash routes): #/kuyruk, #/kayit/<id>, #/egilimler, #/kok-nedenler, #/anket, #/uyarilar.
   Every call goes through api(), which adds "Authorization: Bearer <key>" when a key is stored and
   turns a failure into a Turkish sentence (messages.js); numbers, times and deadlines are written
   by format.js (times in the policy's timezone, not the browser's); labels, tasks and channels are
   shown by labels.js in the words GET /v1/model gives (the raw ids still go to the API). */
(function () {
  "use strict";
  var KEY_STORE = "nabiz.apiKey";
  var NAME_STORE = "nabiz.agentName";
  var PAGE = 50;
  var view = document.getElementById("view");
  var model = null; // GET /v1/model, loaded once
  var queueState = { offset: 0, filters: { status: ["open", "in_progress"] } };
  var VIEW_TITLES = { kuyruk: "Kuyruk", kayit: "Kayıt", egilimler: "Eğilimler", "kok-nedenler": "Kök nedenler",
    anket: "Anket", uyarilar: "Uyarılar" };
  var lastQueueHash = "#/kuyruk"; // where "Kuyruğa dön" leads: the page and filters left

  // The queue's filters and page live in its address (#/kuyruk?durum=open&ara=…&kaydir=50), so a
  // reload, the Back button and a shared link show the same list.
  var QUEUE_KEYS = { statusChoice: "durum", level: "seviye", channel: "kanal", topic: "konu",
    from: "baslangic", to: "bitis", q: "ara" };
  function queueHash(filters, offset) {
    filters = filters || queueState.filters;
    offset = filters === queueState.filters ? queueState.offset : offset || 0;
    var params = new URLSearchParams();
    Object.keys(QUEUE_KEYS).forEach(function (k) {
      if (filters[k]) params.set(QUEUE_KEYS[k], filters[k]);
    });
    if (filters.overdue) params.set("geciken", "1");
    if (offset) params.set("kaydir", String(offset));
    var text = params.toString();
    return "#/kuyruk" + (text ? "?" + text : "");
  }
  // "2026-11-23" -> "23.11.2026"
  function localDay(date) { return (date || "").split("-").reverse().join("."); }
  // the last day of a period that starts on the local date `start` ("2026-11-23", "week")
  function periodLastDay(start, period) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(start || "");
    if (!m) return "";
    return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + (period === "week" ? 6 : 0))).toISOString().slice(0, 10);
  }
  function readQueueHash(params) {
    var f = {};
    Object.keys(QUEUE_KEYS).forEach(function (k) { f[k] = params.get(QUEUE_KEYS[k]) || ""; });
    var choice = f.statusChoice;
    f.status = choice === "all" ? ["open", "in_progress", "resolved"] : choice ? [choice] : ["open", "in_progress"];
    f.overdue = params.get("geciken") === "1";
    queueState.filters = f;
    var offset = params.get("kaydir") || ""; // digits only: "1e3", "abc", "-5" are no offset
    queueState.offset = /^\d{1,9}$/.test(offset) ? Number(offset) : 0;
  }
  var timers = [];
  var F = NabizFormat;
  var esc = F.esc, num = F.num, pct = F.pct, fixed = F.fixed;
  var localTime = F.localTime, countdown = F.countdown, dayStartIso = F.dayStartIso, dueCell = F.dueHtml;
  var L = NabizLabels;

  var STATUS = { open: "Açık", in_progress: "İşlemde", resolved: "Çözüldü" };

  // --- helpers --------------------------------------------------------------------------------
  // the banner under the header: errors stay until closed or until the next page loads fine
  function say(text, kind) {
    var box = document.getElementById("message");
    document.getElementById("message-text").textContent = text;
    box.className = "message " + (kind || "");
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.hidden = !text;
    if (text && kind !== "error") {
      setTimeout(function () { if (document.getElementById("message-text").textContent === text) box.hidden = true; }, 4000);
    }
  }
  function clearError() {
    var box = document.getElementById("message");
    if (box.classList.contains("error")) box.hidden = true;
  }
  document.getElementById("message-close").addEventListener("click", function () {
    document.getElementById("message").hidden = true;
  });
  function labelOf(value) { return Array.isArray(value) ? value.join(", ") : value; }

  // options: method, body, etag (sent as If-Match); withEtag: resolve {data, etag}, not data.
  // A failure is an Error with .status (0: no answer) and a Turkish message (messages.js).
  function api(path, options) {
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
      throw NabizMessages.failure(0, path, String(error && error.message));
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          if (response.status === 401) openKeyDialog(); // a key to enter; a 403 is a key without the scope
          throw NabizMessages.failure(response.status, path, data.detail, data.request_id);
        }
        if (method === "GET") clearError(); // it works again: the last error is stale
        return options.withEtag ? { data: data, etag: response.headers.get("ETag") } : data;
      });
    });
  }
  // a failed call: its Turkish sentence (messages.js) where "Yükleniyor…" stood (place), else in the banner
  function fail(error, place) {
    var known = error && typeof error.status === "number";
    if (!known) console.warn(error);
    var text = known ? error.message : "Beklenmeyen bir hata oldu. Sayfayı yenileyip yeniden deneyin.";
    if (place && document.body.contains(place)) {
      var html = '<p class="error" role="alert">' + esc(text) + "</p>";
      place.innerHTML = place.tagName === "TBODY" ? '<tr><td colspan="8">' + html + "</td></tr>" : html;
    } else {
      say(text, "error");
    }
  }
  function failIn(place) { return function (error) { fail(error, place); }; }
  function loadModel() {
    if (model) return Promise.resolve(model);
    return api("/v1/model").then(function (m) { model = m; L.use(m); return m; });
  }
  // the task playing a role (sentiment, topic, urgency): GET /v1/model says which
  function roleTask(role) {
    return model ? model.tasks.filter(function (t) { return t.role === role; })[0] : null;
  }
  function roleLabel(labels, role) {
    var t = roleTask(role);
    return t ? labels[t.name] : undefined;
  }
  function options(values, selected, blank) {
    var html = blank !== undefined ? '<option value="">' + esc(blank) + "</option>" : "";
    values.forEach(function (v) {
      var value = typeof v === "string" ? v : v[0], text = typeof v === "string" ? v : v[1];
      html += '<option value="' + esc(value) + '"' + (value === selected ? " selected" : "") + ">" + esc(text) + "</option>";
    });
    return html;
  }
  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      (Array.isArray(v) ? v : [v]).forEach(function (one) {
        if (one !== "" && one !== null && one !== undefined && one !== false) parts.push(encodeURIComponent(k) + "=" + encodeURIComponent(one));
      });
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  // --- queue ----------------------------------------------------------------------------------
  function itemRow(item) {
    var labels = item.labels;
    var reasons = (item.priority.reasons || []).slice(1, 3).map(L.reason).join(" · ");
    var sentiment = roleLabel(labels, "sentiment");
    return '<tr class="item" data-id="' + esc(item.id) + '" tabindex="0">' +
      '<td><span class="lvl ' + esc(item.priority.level) + '">' + esc(item.priority.level) + "</span></td>" +
      dueCell("td", item) +
      "<td>" + esc(L.channel(item.channel) || "") + "</td>" +
      "<td>" + esc(L.roleLabel("topic", roleLabel(labels, "topic"))) + "</td>" +
      '<td><span class="sent ' + esc(sentiment) + '">' + esc(L.roleLabel("sentiment", sentiment)) + "</span></td>" +
      "<td>" + esc(L.roleLabel("urgency", roleLabel(labels, "urgency"))) + "</td>" +
      '<td class="text"><div>' + esc(item.text.length > 200 ? item.text.slice(0, 199) + "…" : item.text) + '</div><div class="reasons">' + esc(reasons) + "</div></td>" +
      "<td>" + esc(STATUS[item.status] || item.status) + "</td></tr>";
  }

  // a select's options with a value from the address that is not among them (an alias, a
  // mistyped label), so the form shows the filter the list was asked with
  function withValue(choices, value) {
    var known = choices.some(function (c) { return (Array.isArray(c) ? c[0] : c) === value; });
    return value && !known ? choices.concat([[value, value]]) : choices;
  }

  function renderQueue() {
    var f = queueState.filters;
    var topics = withValue(L.roleOptions("topic"), f.topic), channels = withValue(L.channelOptions(), f.channel);
    var topicTitle = L.roleTitle("topic");
    view.innerHTML =
      '<h1>Kuyruk</h1><form id="filters" class="filters">' +
      '<label>Ara<input type="search" name="q" maxlength="200" placeholder="ör. izmir şubesi" value="' + esc(f.q || "") + '"></label>' +
      '<label>Durum<select name="status"><option value="">Açık + işlemde</option>' +
      options(withValue([["open", "Açık"], ["in_progress", "İşlemde"], ["resolved", "Çözüldü"], ["all", "Hepsi"]], f.statusChoice), f.statusChoice || "") + "</select></label>" +
      '<label>Seviye<select name="level">' + options(withValue(["P1", "P2", "P3", "P4"], f.level), f.level || "", "Hepsi") + "</select></label>" +
      '<label>Kanal<select name="channel">' + options(channels, f.channel || "", "Hepsi") + "</select></label>" +
      "<label>" + esc(topicTitle) + '<select name="topic">' + options(topics, f.topic || "", "Hepsi") + "</select></label>" +
      '<label>Başlangıç<input type="date" name="from" value="' + esc(f.from || "") + '"></label>' +
      '<label>Bitiş<input type="date" name="to" value="' + esc(f.to || "") + '"></label>' +
      '<label class="check"><input type="checkbox" name="overdue"' + (f.overdue ? " checked" : "") + "> Gecikenler</label>" +
      '<button type="submit">Uygula</button></form>' +
      '<div id="queue-count" class="muted"></div>' +
      '<div class="table-wrap"><table class="queue"><thead><tr><th>Seviye</th><th>Yanıt süresi</th><th>Kanal</th><th>' + esc(topicTitle) + "</th><th>" + esc(L.roleTitle("sentiment")) + "</th><th>" + esc(L.roleTitle("urgency")) + '</th><th>Metin ve gerekçe</th><th>Durum</th></tr></thead><tbody id="queue-body"><tr><td colspan="8" class="muted">Yükleniyor…</td></tr></tbody></table></div>' +
      '<div class="pager"><button id="prev" class="ghost" type="button">‹ Önceki</button><span id="page"></span><button id="next" class="ghost" type="button">Sonraki ›</button></div>';
    document.getElementById("filters").addEventListener("submit", function (e) {
      e.preventDefault();
      var form = new FormData(e.target);
      var choice = form.get("status");
      queueState.filters = {
        statusChoice: choice,
        status: choice === "all" ? ["open", "in_progress", "resolved"] : choice ? [choice] : ["open", "in_progress"],
        level: form.get("level"), channel: form.get("channel"), topic: form.get("topic"),
        from: form.get("from"), to: form.get("to"), overdue: form.get("overdue") === "on",
        q: (form.get("q") || "").trim(),
      };
      queueState.offset = 0;
      goQueue();
    });
    document.getElementById("prev").addEventListener("click", function () {
      queueState.offset = Math.max(0, queueState.offset - PAGE); goQueue();
    });
    document.getElementById("next").addEventListener("click", function () {
      queueState.offset += PAGE; goQueue();
    });
    document.getElementById("queue-body").addEventListener("click", function (e) {
      var row = e.target.closest("tr.item");
      if (row) location.hash = "#/kayit/" + encodeURIComponent(row.dataset.id);
    });
    document.getElementById("queue-body").addEventListener("keydown", function (e) {
      var row = e.target.closest("tr.item");
      if (row && e.key === "Enter") location.hash = "#/kayit/" + encodeURIComponent(row.dataset.id);
    });
    timers.push(setInterval(function () {
      document.querySelectorAll("td.due[data-due]").forEach(function (cell) {
        var due = countdown(cell.dataset.due);
        (cell.querySelector(".left") || cell).textContent = due.text;
        cell.classList.toggle("late", due.late);
      });
    }, 30000));
    loadQueue();
  }

  // a new history entry for the list asked for (route() renders it), or the list again when the
  // address is already that one (the same filters applied twice)
  function goQueue() {
    var hash = queueHash();
    if (location.hash === hash) loadQueue(); else location.hash = hash;
  }

  function loadQueue() {
    var f = queueState.filters;
    var params = {
      status: f.status, level: f.level, channel: f.channel, topic: f.topic, overdue: f.overdue ? "true" : "", q: f.q,
      received_from: dayStartIso(f.from), received_to: dayStartIso(f.to, true),
      limit: PAGE, offset: queueState.offset,
    };
    return api("/v1/queue" + query(params)).then(function (page) {
      var body = document.getElementById("queue-body");
      if (!body) return;
      var backwards = f.from && f.to && f.from > f.to; // the API finds nothing: say why
      body.innerHTML = page.items.length ? page.items.map(itemRow).join("") :
        '<tr><td colspan="8" class="muted">' + (backwards ? "Başlangıç, bitişten sonra: tarihleri değiştirin." :
          page.count ? "Bu sayfada kayıt yok." : "Bu filtrelerle kayıt yok.") + "</td></tr>";
      var first = page.count ? page.offset + 1 : 0, last = page.offset + page.items.length;
      document.getElementById("queue-count").textContent = num(page.count) + " kayıt";
      document.getElementById("page").textContent = page.items.length ? num(first) + "–" + num(last) + " / " + num(page.count) : "";
      document.getElementById("prev").disabled = page.offset === 0;
      document.getElementById("next").disabled = last >= page.count;
    }).catch(function (error) {
      var count = document.getElementById("queue-count");
      if (count) count.textContent = "";
      fail(error, document.getElementById("queue-body"));
    });
  }

  // --- one item -------------------------------------------------------------------------------
  function renderItem(id) {
    view.innerHTML = '<p class="muted">Yükleniyor…</p>';
    api("/v1/feedback/" + encodeURIComponent(id), { withEtag: true }).then(function (answer) {
      var item = answer.data;
      var version = answer.etag; // sent back in If-Match: a save over someone else's change is a 412
      var fields = model.tasks.map(function (t) {
        var current = item.labels[t.name];
        var corrected = item.corrections[t.name] !== undefined;
        var control;
        if (t.kind === "multi_label") {
          control = t.labels.map(function (l) {
            var on = (current || []).indexOf(l) >= 0;
            return '<label class="check"><input type="checkbox" name="' + esc(t.name) + '" value="' + esc(l) + '"' + (on ? " checked" : "") + "> " + esc(L.label(t.name, l)) + "</label>";
          }).join(" ");
        } else {
          control = '<select name="' + esc(t.name) + '">' + options(L.labelOptions(t.name, t.labels), current) + "</select>";
        }
        var score = item.prediction.tasks[t.name] ? item.prediction.tasks[t.name].scores : {};
        var top = Object.keys(score).sort(function (a, b) { return score[b] - score[a]; })[0];
        return '<div class="field"><span>' + esc(L.taskTitle(t.name)) + (corrected ? ' <em class="corrected">düzeltildi</em>' : "") +
          '</span>' + control + '<small class="muted">model: ' + esc(item.prediction.tasks[t.name] ? L.label(t.name, item.prediction.tasks[t.name].labels) : "") +
          (top ? " (" + fixed(score[top], 2) + ")" : "") + "</small></div>";
      }).join("");
      view.innerHTML =
        '<p><a href="' + esc(lastQueueHash) + '">‹ Kuyruğa dön</a></p>' +
        '<article class="item-view"><header><span class="lvl ' + esc(item.priority.level) + '">' + esc(item.priority.level) + "</span> " +
        '<span id="item-due">' + dueCell("span", item) + "</span>" +
        '<span class="muted"> · ' + esc(L.channel(item.channel) || "") + " · " + esc(localTime(item.received_at)) + " · #" + esc(item.id) + "</span></header>" +
        '<blockquote class="fulltext">' + esc(item.text) + "</blockquote>" +
        '<details><summary>Öncelik gerekçesi</summary><ul>' + item.priority.reasons.map(function (r) { return "<li>" + esc(L.reason(r)) + "</li>"; }).join("") + "</ul></details>" +
        '<form id="item-form" class="item-form">' + fields +
        '<div class="field"><span>Durum</span><select name="status">' + options([["open", "Açık"], ["in_progress", "İşlemde"], ["resolved", "Çözüldü"]], item.status) + "</select></div>" +
        '<div class="field"><span>Adınız</span><input name="corrected_by" value="' + esc(localStorage.getItem(NAME_STORE) || "") + '" maxlength="128"></div>' +
        '<button type="submit">Kaydet</button> <span id="saved" class="muted"></span></form></article>';
      document.getElementById("item-form").addEventListener("submit", function (e) {
        e.preventDefault();
        var form = new FormData(e.target);
        var corrections = {};
        model.tasks.forEach(function (t) {
          var value = t.kind === "multi_label" ? form.getAll(t.name) : form.get(t.name);
          var before = labelOf(item.labels[t.name]);
          if (labelOf(value) !== before) corrections[t.name] = value;
        });
        var body = { status: form.get("status") };
        if (Object.keys(corrections).length) body.corrections = corrections;
        var who = form.get("corrected_by");
        if (who) { body.corrected_by = who; localStorage.setItem(NAME_STORE, who); }
        var button = e.target.querySelector("button[type=submit]");
        var saved = document.getElementById("saved");
        button.disabled = true;
        saved.textContent = "Kaydediliyor…";
        api("/v1/feedback/" + encodeURIComponent(item.id), { method: "PATCH", body: body, etag: version, withEtag: true })
          .then(function (answer) {
            item = answer.data;
            version = answer.etag || version;
            document.getElementById("item-due").innerHTML = dueCell("span", item);
            saved.textContent = "Kaydedildi (" + item.priority.level + ").";
            say("Kayıt güncellendi.", "ok");
          }).catch(function (error) {
            saved.textContent = "Kaydedilmedi.";
            fail(error);
          }).then(function () { button.disabled = false; });
      });
    }).catch(function (error) {
      view.innerHTML = '<p><a href="' + esc(lastQueueHash) + '">‹ Kuyruğa dön</a></p><div id="item-error"></div>';
      fail(error, document.getElementById("item-error"));
    });
  }

  // --- trends ---------------------------------------------------------------------------------
  var TRENDS_DRAWN = 5;  // series drawn besides "hepsi" until a person picks others

  function renderTrends() {
    view.innerHTML = '<h1>Eğilimler</h1><form id="trend-form" class="filters">' +
      '<label>Dönem<select name="period">' + options([["day", "Gün"], ["week", "Hafta"]], "day") + "</select></label>" +
      '<label>Kırılım<select name="by">' + options([["topic", L.roleTitle("topic")], ["channel", "Kanal"]], "topic") + "</select></label>" +
      '<label>Başlangıç<input type="date" name="from"></label><label>Bitiş<input type="date" name="to"></label>' +
      '<button type="submit">Göster</button></form>' +
      '<div id="series-pick" class="series-pick" role="group" aria-label="Çizilen seriler"></div>' +
      '<div class="grid"><section><h2>Hacim</h2><div id="chart-volume"></div></section>' +
      '<section><h2>Olumsuz payı</h2><div id="chart-negative"></div></section>' +
      '<section><h2>Ortalama aciliyet <small class="muted">(0 = düşük, 2 = yüksek)</small></h2><div id="chart-urgency"></div></section>' +
      '<section><h2>Hedef sürede yanıt (kanala göre)</h2><div id="answers"></div></section></div>' +
      '<section id="point-texts" class="point-texts"><p class="muted">Bir noktaya tıklayın: o dönemin metinleri burada listelenir.</p></section>';
    var form = document.getElementById("trend-form");
    form.addEventListener("submit", function (e) { e.preventDefault(); loadTrends(new FormData(form)); });
    loadTrends(new FormData(form));
  }

  function loadTrends(form) {
    var params = { period: form.get("period"), by: form.get("by"),
      received_from: dayStartIso(form.get("from")), received_to: dayStartIso(form.get("to"), true) };
    api("/v1/insights/trends" + query(params)).then(function (t) {
      t.window = [form.get("from") || "", form.get("to") || ""]; // the days asked for, if any
      // "hepsi" and the largest series are drawn; every other one is a button away, not dropped
      var picked = t.series.slice(1, TRENDS_DRAWN + 1).map(function (s) { return s.key; });
      function line(s, values) { return { key: s.key, name: L.seriesKey(t.by, s.key), values: values }; }
      function onPoint(i, key) { showPointTexts(t, i, key); }
      function total(s) { return s.volume.reduce(function (a, b) { return a + b; }, 0); }
      function draw() {
        var shown = t.series.filter(function (s, i) { return i === 0 || picked.indexOf(s.key) >= 0; });
        NabizCharts.lineChart(document.getElementById("chart-volume"), t.periods,
          shown.map(function (s) { return line(s, s.volume); }), { onPoint: onPoint });
        NabizCharts.lineChart(document.getElementById("chart-negative"), t.periods,
          shown.map(function (s) { return line(s, s.negative_share.map(function (v) { return v === null ? null : 100 * v; })); }),
          { onPoint: onPoint, format: function (v) { return "%" + Math.round(v); } });
        NabizCharts.lineChart(document.getElementById("chart-urgency"), t.periods,
          shown.map(function (s) { return line(s, s.mean_urgency); }),
          { onPoint: onPoint, format: function (v) { return v.toFixed(1).replace(".", ","); } });
        var rest = t.series.length - 1;
        document.getElementById("series-pick").innerHTML = rest ?
          '<span class="muted">Çizilen: ' + num(shown.length - 1) + " / " + num(rest) +
          " (eklemek ya da çıkarmak için tıklayın)</span> " +
          t.series.slice(1).map(function (s) {
            return '<button type="button" data-key="' + esc(s.key) + '" aria-pressed="' + (picked.indexOf(s.key) >= 0) + '">' +
              esc(L.seriesKey(t.by, s.key)) + " (" + num(total(s)) + ")</button>";
          }).join("") : "";
      }
      document.getElementById("series-pick").onclick = function (e) {
        var button = e.target.closest("button[data-key]");
        if (!button) return;
        var at = picked.indexOf(button.dataset.key);
        if (at >= 0) picked.splice(at, 1); else picked.push(button.dataset.key);
        draw();
        var again = document.querySelector('#series-pick button[data-key="' + CSS.escape(button.dataset.key) + '"]');
        if (again) again.focus();
      };
      draw();
      document.getElementById("answers").innerHTML = t.answer_times.length ?
        '<table class="bars"><tr><th>Kanal</th><th>Hedefte</th><th class="num">Oran</th><th class="num">Geç</th><th class="num">Bekleyen</th></tr>' +
        t.answer_times.map(function (a) {
          var share = a.within_share === null ? 0 : 100 * a.within_share;
          return "<tr><td>" + esc(L.channel(a.channel)) + '</td><td><div class="bar" style="width:' + share.toFixed(1) + '%"></div></td><td class="num">' +
            pct(a.within_share) + '</td><td class="num">' + num(a.late) + '</td><td class="num">' + num(a.pending) + "</td></tr>";
        }).join("") + "</table>" : '<p class="muted">Veri yok.</p>';
    }).catch(fail);
  }

  function showPointTexts(t, index, key) {
    var bounds = t.bounds[index];
    var params = { status: ["open", "in_progress", "resolved"], received_from: bounds[0], received_to: bounds[1], limit: 20 };
    if (key !== "hepsi") { if (t.by === "topic") params.topic = key; else params.channel = key; }
    var box = document.getElementById("point-texts");
    box.innerHTML = '<p class="muted">Yükleniyor…</p>';
    api("/v1/queue" + query(params)).then(function (page) {
      var first = t.periods[index], last = periodLastDay(first, t.period);
      if (t.window[0] > first) first = t.window[0]; // a week the window cuts: its counted days
      if (t.window[1] && t.window[1] < last) last = t.window[1];
      var filters = { statusChoice: "all", from: first, to: last };
      if (key !== "hepsi") filters[t.by === "topic" ? "topic" : "channel"] = key;
      box.innerHTML = "<h2>" + esc(L.seriesKey(t.by, key)) + " · " + esc(localDay(first) + (last !== first ? "–" + localDay(last) : "")) +
        " <small class='muted'>(" + num(page.count) + " metin" + (page.count > page.items.length ? ", en acil " + num(page.items.length) : "") + ")</small>" +
        ' <a href="' + esc(queueHash(filters)) + '">Kuyrukta aç ›</a></h2>' +
        '<div class="table-wrap"><table class="queue"><tbody>' + page.items.map(itemRow).join("") + "</tbody></table></div>";
      box.querySelector("tbody").addEventListener("click", function (e) {
        var row = e.target.closest("tr.item");
        if (row) location.hash = "#/kayit/" + encodeURIComponent(row.dataset.id);
      });
    }).catch(failIn(box));
  }

  // --- root causes ----------------------------------------------------------------------------
  // linkOf(phrase): the queue's address listing the texts that hold it
  function phraseTable(rows, emptyText, linkOf) {
    if (!rows.length) return '<p class="muted">' + esc(emptyText) + "</p>";
    return '<table class="phrases"><tr><th>İfade</th><th class="num">z</th><th class="num">Metin: şimdi / karşılaştırma</th><th>Örnek metinler</th></tr>' +
      rows.map(function (p) {
        return '<tr><td><a href="' + esc(linkOf(p.phrase)) + '" title="Bu ifadeyi içeren metinler kuyrukta"><b>' + esc(p.phrase) + '</b></a></td><td class="num">' + fixed(p.z, 1) + '</td><td class="num">' + num(p.count) + " / " + num(p.count_other) +
          "</td><td>" + p.examples.map(function (e) { return '<div class="ex">“' + esc(e) + "”</div>"; }).join("") + "</td></tr>";
      }).join("") + "</table>";
  }

  function renderCauses() {
    var topics = L.roleOptions("topic");
    view.innerHTML = '<h1>Kök nedenler</h1><form id="cause-form" class="filters">' +
      "<label>" + esc(L.roleTitle("topic")) + '<select name="topic">' + options(topics, topics.length ? topics[0][0] : "") + "</select></label>" +
      '<label>Dönem<select name="period">' + options([["week", "Hafta"], ["day", "Gün"]], "week") + "</select></label>" +
      '<label>Dönem başı<input type="date" name="start"></label><button type="submit">Göster</button></form>' +
      '<p class="muted">Yöntem: bilgilendirici Dirichlet öncüllü ağırlıklı log-odds (Monroe vd. 2008). z ≥ 1,96 olan ifadeler listelenir. “Ne değişti”: iki oran z-testi, Benjamini-Hochberg düzeltmesi (q &lt; 0,05).</p>' +
      '<div id="causes"></div>';
    var form = document.getElementById("cause-form");
    function go() {
      var f = new FormData(form);
      document.getElementById("causes").innerHTML = '<p class="muted">Hesaplanıyor…</p>';
      api("/v1/insights/root-causes" + query({ topic: f.get("topic"), period: f.get("period"), start: f.get("start") })).then(function (r) {
        function linkOf(phrase) {
          return queueHash({ statusChoice: "all", topic: r.topic || "", q: phrase, from: r.start || "", to: periodLastDay(r.start, r.period) });
        }
        var changes = r.changes.map(function (c) {
          function cls(q) { return q !== null && q < 0.05 ? " sig" : ""; }
          return "<tr><td>" + esc(L.roleLabel("topic", c.topic)) + '</td><td class="num">' + pct(c.share_before) + " → " + pct(c.share) + '</td><td class="num' + cls(c.share_q) + '">' + fixed(c.share_q, 3) +
            '</td><td class="num">' + pct(c.negative_share_before) + " → " + pct(c.negative_share) + '</td><td class="num' + cls(c.negative_q) + '">' + fixed(c.negative_q, 3) + "</td></tr>";
        }).join("");
        document.getElementById("causes").innerHTML =
          "<p>" + esc(L.roleLabel("topic", r.topic) || "") + " · dönem " + esc(r.start || "–") + " (önceki: " + esc(r.previous_start || "–") + ") · " + num(r.count) + " metin" +
          (r.texts_read.topic < r.count ? " <small class='muted'>(ifadeler " + num(r.texts_read.topic) + " metinlik eşit aralıklı örnekten)</small>" : "") + "</p>" +
          '<div class="grid"><section><h2>Önceki döneme göre öne çıkanlar</h2>' + phraseTable(r.vs_previous, r.texts_read.previous ? "Belirgin bir değişiklik yok." : "Önceki dönemde bu konuda geri bildirim yok: karşılaştırılamadı.", linkOf) + "</section>" +
          "<section><h2>Diğer konulara göre ayırt edenler</h2>" + phraseTable(r.vs_topics, r.texts_read.other_topics ? "Belirgin ifade yok." : "Bu dönemde başka konuda geri bildirim yok: karşılaştırılamadı.", linkOf) + "</section></div>" +
          '<section><h2>Ne değişti?</h2><div class="table-wrap"><table><tr><th>' + esc(L.roleTitle("topic")) + '</th><th class="num">Pay (önce → şimdi)</th><th class="num">q</th><th class="num">Olumsuz payı</th><th class="num">q</th></tr>' + changes + "</table></div></section>";
      }).catch(failIn(document.getElementById("causes")));
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); go(); });
    go();
  }

  // --- survey ---------------------------------------------------------------------------------
  function renderSurvey() {
    view.innerHTML = '<h1>Anket metrikleri</h1><form id="survey-form" class="filters"><label>Dönem<select name="period">' +
      options([["week", "Hafta"], ["day", "Gün"]], "week") + '</select></label><button type="submit">Göster</button></form><div id="survey"></div>' +
      '<p class="muted">NPS = %tavsiye eden (9–10) − %kötüleyen (0–6); CSAT = 4–5 verenlerin yüzdesi; CES = ortalama (1–7). “Etki”: o konunun geri bildirimleri olmasaydı metriğin ne kadar değişeceği.</p>';
    var form = document.getElementById("survey-form");
    function go() {
      api("/v1/insights/survey" + query({ period: new FormData(form).get("period") })).then(function (s) {
        var box = document.getElementById("survey");
        if (!s.metrics.length) { box.innerHTML = '<p class="muted">Anket puanı taşıyan geri bildirim yok.</p>'; return; }
        box.innerHTML = s.metrics.map(function (m, n) {
          function topicName(key) { return L.roleLabel("topic", key); }
          function rows(cells, name, impact) {
            return "<table>" + cells.map(function (c) {
              return "<tr><td>" + esc(name(c.key)) + '</td><td class="num">' + fixed(c.value, 1) + '</td><td class="num muted">' + num(c.responses) + "</td>" +
                (impact ? '<td class="num">' + (c.impact === null ? "–" : (c.impact > 0 ? "+" : "") + fixed(c.impact, 1)) + "</td>" : "") + "</tr>";
            }).join("") + "</table>";
          }
          return '<section><h2>' + esc(m.name) + ": " + fixed(m.value, 1) + ' <small class="muted">(' + num(m.responses) + " yanıt)</small></h2>" +
            '<div id="survey-chart-' + n + '"></div><div class="grid"><div><h3>Kanala göre</h3>' + rows(m.by_channel, L.channel) + "</div>" +
            "<div><h3>Konuya göre <small class='muted'>(puan, yanıt, etki)</small></h3>" + rows(m.by_topic, topicName, true) + "</div></div></section>";
        }).join("");
        s.metrics.forEach(function (m, n) {
          NabizCharts.lineChart(document.getElementById("survey-chart-" + n), m.by_period.map(function (c) { return c.key; }),
            [{ key: m.name, values: m.by_period.map(function (c) { return c.value; }) }],
            { format: function (v) { return v.toFixed(m.kind === "ces" ? 1 : 0); } });
        });
      }).catch(failIn(document.getElementById("survey")));
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); go(); });
    go();
  }

  // --- alerts (GET /v1/alerts, POST /v1/alerts/{id}/ack) -------------------------------------
  function renderAlerts() {
    view.innerHTML = '<h1>Uyarılar</h1><form id="alert-form" class="filters"><label>Göster<select name="acknowledged">' +
      options([["false", "Onaylanmamış"], ["", "Hepsi"], ["true", "Onaylanmış"]], "false") +
      '</select></label><label>Adınız<input name="who" maxlength="128" value="' + esc(localStorage.getItem(NAME_STORE) || "") + '"></label>' +
      '<button type="submit">Göster</button></form><div id="alerts"><p class="muted">Yükleniyor…</p></div>';
    var form = document.getElementById("alert-form");
    form.elements.who.addEventListener("change", function () { // who acknowledges (without keys)
      var who = form.elements.who.value.trim();
      if (who) localStorage.setItem(NAME_STORE, who); else localStorage.removeItem(NAME_STORE);
    });
    function go() {
      api("/v1/alerts" + query({ acknowledged: new FormData(form).get("acknowledged"), limit: 100 })).then(function (page) {
        var box = document.getElementById("alerts");
        if (!page.items.length) { box.innerHTML = '<p class="muted">Uyarı yok.</p>'; return; }
        var open = page.items.filter(function (a) { return !a.acknowledged; });
        var newest = Math.max.apply(null, open.map(function (a) { return a.id; }));
        var all = new FormData(form).get("acknowledged") === "false" && open.length > 1 ?
          '<p><button type="button" id="ack-all">Hepsini onayla (' + num(page.count) + ")</button></p>" : "";
        box.innerHTML = all + page.items.map(function (a) {
          var delivered = a.deliveries.filter(function (d) { return d.status === "delivered"; }).length;
          return '<section class="alert' + (a.acknowledged ? " done" : "") + '"><h2>' + esc(a.title) + ' <small class="muted">' + esc(localTime(a.created_at)) + "</small></h2>" +
            "<p>" + esc(a.message) + "</p>" +
            '<p class="muted">' + esc(L.alertKind(a.kind)) + (L.group(a.group) ? " · " + esc(L.group(a.group)) : "") + (a.feedback_id ? ' · <a href="#/kayit/' + encodeURIComponent(a.feedback_id) + '">#' + esc(a.feedback_id) + "</a>" : "") +
            (a.deliveries.length ? " · webhook: " + delivered + "/" + a.deliveries.length + " iletildi" : "") +
            (a.acknowledged ? " · onaylayan: " + esc(a.acknowledged_by || "–") : "") + "</p>" +
            (a.acknowledged ? "" : '<button type="button" class="ack" data-id="' + esc(a.id) + '">Onayla</button>') + "</section>";
        }).join("");
        var ackAll = document.getElementById("ack-all");
        if (ackAll) ackAll.addEventListener("click", function () {
          if (!window.confirm(num(page.count) + " uyarı onaylanacak (bu sayfadan sonra gelenler hariç).")) return;
          var who = localStorage.getItem(NAME_STORE) || undefined;
          api("/v1/alerts/ack", { method: "POST", body: { up_to_id: newest, by: who } })
            .then(function (done) { say(num(done.acknowledged) + " uyarı onaylandı.", "ok"); go(); refreshAlertBadge(); }).catch(fail);
        });
        box.querySelectorAll("button.ack").forEach(function (button) {
          button.addEventListener("click", function () {
            var who = localStorage.getItem(NAME_STORE) || undefined;
            api("/v1/alerts/" + button.dataset.id + "/ack", { method: "POST", body: { by: who } })
              .then(function () { say("Uyarı onaylandı.", "ok"); go(); refreshAlertBadge(); }).catch(fail);
          });
        });
      }).catch(function (error) {
        var box = document.getElementById("alerts");
        if (error.status === 404) box.innerHTML = '<p class="muted">Bu sunucuda uyarılar etkin değil.</p>';
        else fail(error, box);
      });
    }
    form.addEventListener("submit", function (e) { e.preventDefault(); go(); });
    go();
  }

  // how many alerts wait for someone, beside "Uyarılar" on every page (nothing where alerts are
  // off or the key may not read them)
  function refreshAlertBadge() {
    var badge = document.getElementById("alert-badge");
    if (!badge) return;
    api("/v1/alerts" + query({ acknowledged: "false", limit: 1 })).then(function (page) {
      badge.textContent = num(page.count);
      badge.hidden = !page.count;
      badge.title = num(page.count) + " onaylanmamış uyarı";
    }).catch(function () { badge.hidden = true; });
  }

  // --- key dialog and routing -----------------------------------------------------------------
  function openKeyDialog() {
    var dialog = document.getElementById("key-dialog");
    if (dialog.open) return;
    document.getElementById("key-input").value = localStorage.getItem(KEY_STORE) || "";
    dialog.showModal();
  }
  document.getElementById("key-button").addEventListener("click", openKeyDialog);
  document.getElementById("key-dialog").addEventListener("close", function (e) {
    var value = e.target.returnValue;
    if (value === "save") localStorage.setItem(KEY_STORE, document.getElementById("key-input").value.trim());
    if (value === "clear") localStorage.removeItem(KEY_STORE);
    if (value) { model = null; route(); }
  });
  // "İçeriğe geç": focus the page's content (a plain #view link would change the hash route)
  document.getElementById("skip").addEventListener("click", function (e) {
    e.preventDefault();
    view.focus();
  });

  function route() {
    clearError(); // an error belongs to the page it happened on
    timers.forEach(clearInterval);
    timers = [];
    var hash = location.hash || "#/kuyruk";
    var at = hash.indexOf("?");
    var params = new URLSearchParams(at >= 0 ? hash.slice(at + 1) : "");
    var parts = (at >= 0 ? hash.slice(2, at) : hash.slice(2)).split("/");
    document.querySelectorAll("#nav a").forEach(function (a) {
      var active = a.dataset.view === parts[0] || (parts[0] === "kayit" && a.dataset.view === "kuyruk");
      a.classList.toggle("active", active);
      if (active) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    });
    // each view its own title: browser tabs, history and screen readers tell them apart
    document.title = (VIEW_TITLES[parts[0]] || "Kuyruk") + (parts[0] === "kayit" && parts[1] ? " " + decodeURIComponent(parts[1]) : "") + " · Nabız";
    loadModel().then(function () {
      refreshAlertBadge();
      if (parts[0] === "kayit" && parts[1]) return renderItem(decodeURIComponent(parts[1]));
      if (parts[0] === "egilimler") return renderTrends();
      if (parts[0] === "kok-nedenler") return renderCauses();
      if (parts[0] === "anket") return renderSurvey();
      if (parts[0] === "uyarilar") return renderAlerts();
      readQueueHash(params); // #/kuyruk alone: the default list
      lastQueueHash = queueHash();
      return renderQueue();
    }).catch(function (error) { fail(error, view); });
  }
  window.addEventListener("hashchange", route);
  setInterval(refreshAlertBadge, 60000); // alerts arrive while a page stays open
  route();
})();
