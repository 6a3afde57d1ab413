/* Nabız console: the words people read for the model's ids. GET /v1/model gives, per task, a
   `title` and `display` (label → words) and, for the policy's channels, `channel_titles`; an id
   without a name (an older model, a label the config leaves out) is shown as it is. Only what is
   shown changes: option values, filters and corrections keep the raw ids the API takes. */
(function () {
  "use strict";
  var model = null;
  var ALL = "hepsi"; // the trends' series of every item (GET /v1/insights/trends)
  // fallbacks where a model gives no title for a task (by its name, or the role it plays)
  var TASK_TITLES = { sentiment: "Duygu", topic: "Konu", urgency: "Aciliyet", aksiyon: "Aksiyon" };
  // alert kinds are fixed by the server (serving/alerts/rules.py)
  var ALERT_KINDS = { overdue: "Gecikme", volume_spike: "Hacim artışı", share_spike: "Oran artışı" };
  var GROUP_KEYS = { channel: "Kanal", level: "Seviye" };

  function use(m) { model = m; }
  function own(map, key) { return map && Object.prototype.hasOwnProperty.call(map, key) && map[key] ? map[key] : null; }
  function task(name) {
    return model ? model.tasks.filter(function (t) { return t.name === name; })[0] || null : null;
  }
  function roleTask(role) {
    return model ? model.tasks.filter(function (t) { return t.role === role; })[0] || null : null;
  }
  // one label (or a multi-label list) of a task, in words
  function label(taskName, value) {
    if (value === null || value === undefined) return value;
    if (Array.isArray(value)) return value.map(function (v) { return label(taskName, v); }).join(", ");
    var t = task(taskName);
    return own(t && t.display, value) || value;
  }
  function roleLabel(role, value) {
    var t = roleTask(role);
    return t ? label(t.name, value) : Array.isArray(value) ? value.join(", ") : value;
  }
  function taskTitle(name) {
    var t = task(name);
    return (t && t.title) || TASK_TITLES[name] || name;
  }
  function roleTitle(role) {
    var t = roleTask(role);
    return (t && t.title) || TASK_TITLES[role] || (t ? t.name : role);
  }
  function channel(id) {
    if (id === null || id === undefined || id === "") return id;
    return own(model && model.channel_titles, id) || id;
  }
  // [value, words] pairs for options(): the value stays the raw label
  function labelOptions(taskName, labels) {
    return labels.map(function (l) { return [l, label(taskName, l)]; });
  }
  function roleOptions(role) {
    var t = roleTask(role);
    return t ? labelOptions(t.name, t.labels) : [];
  }
  function channelOptions() {
    return model ? Object.keys(model.channels).map(function (c) { return [c, channel(c)]; }) : [];
  }
  // a trends series key: "hepsi", a topic or a channel (by = "topic" | "channel")
  function seriesKey(by, key) {
    if (key === ALL) return "Hepsi";
    return by === "channel" ? channel(key) : roleLabel("topic", key);
  }
  function alertKind(kind) { return ALERT_KINDS[kind] || kind; }
  // an alert's group ({channel, level, <task>: label}): "Kanal: Mağaza · Konu: Fatura ve ödeme"
  function group(g) {
    return Object.keys(g || {}).map(function (key) {
      var value = g[key];
      if (key === "channel") return GROUP_KEYS.channel + ": " + channel(value);
      if (GROUP_KEYS[key]) return GROUP_KEYS[key] + ": " + value;
      return taskTitle(key) + ": " + label(key, value);
    }).join(" · ");
  }
  // a label shown by one task only (the words of a priority reason name no task)
  function uniqueLabel(value) {
    var found = [];
    (model ? model.tasks : []).forEach(function (t) {
      if (t.labels.indexOf(value) >= 0) found.push(own(t.display, value));
    });
    return found.length === 1 ? found[0] : null;
  }
  // priority reasons are the server's Turkish sentences: only two fixed shapes get their ids named,
  // "aciliyet: yuksek olasılığı 0.57 → +0.39" and "kanal sosyal_medya: …"; any other reason stays as sent
  function reason(text) {
    return turkishDecimals(namedReason(text));
  }
  // "0.41 → +0.35" as the console writes numbers elsewhere: "0,41 → +0,35" (the API's reasons
  // keep the point: programs read them)
  function turkishDecimals(text) { return text.replace(/(\d)\.(\d)/g, "$1,$2"); }
  function namedReason(text) {
    var factor = /^([^:]+): ([^\s:()]+) (olasılığı \d)/.exec(text);
    if (factor) {
      var words = uniqueLabel(factor[2]);
      if (words) return factor[1] + ": " + words + " " + factor[3] + text.slice(factor[0].length);
    }
    var chan = /^kanal ([^\s:()]+)([ :])/.exec(text);
    if (chan && own(model && model.channel_titles, chan[1])) {
      return "kanal " + channel(chan[1]) + chan[2] + text.slice(chan[0].length);
    }
    return text;
  }

  window.NabizLabels = {
    use: use, label: label, roleLabel: roleLabel, taskTitle: taskTitle, roleTitle: roleTitle,
    channel: channel, labelOptions: labelOptions, roleOptions: roleOptions, channelOptions: channelOptions,
    seriesKey: seriesKey, alertKind: alertKind, group: group, reason: reason,
  };
})();
