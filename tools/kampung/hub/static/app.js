// Kandig hub dashboard. Builds every element with createElement/textContent: house ids, types
// and everything else that came over MQTT are never parsed as HTML (no innerHTML anywhere).
// State comes from /api/state once (with the login's CSRF token), then from /events (SSE).
"use strict";

(function () {
  let me = null;          // {user, csrf} when the RT head is logged in
  let state = null;       // the last state from the hub
  let loginPossible = true;

  const $ = (id) => document.getElementById(id);

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") e.textContent = String(v);
      else if (k === "class") e.className = String(v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }

  function typeName(t) {
    const found = state && state.types.find((x) => x.type === t);
    return found ? found.name : "Jenis tidak dikenal (" + t + ")";
  }

  function fmtTime(s) {
    if (!s) return "—";
    return new Date(s * 1000).toLocaleString("id-ID", {
      day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function ago(s) {
    if (!s || !state) return "";
    const d = Math.max(0, Math.round(state.now - s));
    if (d < 60) return d + " detik lalu";
    if (d < 3600) return Math.round(d / 60) + " menit lalu";
    if (d < 86400) return Math.round(d / 3600) + " jam lalu";
    return Math.round(d / 86400) + " hari lalu";
  }

  function houseLabel(h) {
    return h === "hub" ? "Ketua RT (hub)" : "Rumah " + h;
  }

  const STATUS = {
    active: "Aktif",
    false_alarm: "Dibatalkan (alarm palsu)",
    done: "Selesai",
    expired: "Kedaluwarsa (tidak diakhiri)",
    rate_limited: "Ditahan (terlalu sering)",
  };
  const HOUSE_STATE = {
    online: "Terhubung",
    offline: "Terputus",
    stale: "Diam (tidak ada detak)",
    unknown: "Belum ada kabar",
  };

  function csrfForm(action, fields, label, cls) {
    const f = el("form", { method: "post", action: action });
    f.append(el("input", { type: "hidden", name: "csrf", value: me ? me.csrf : "" }));
    for (const [k, v] of Object.entries(fields)) f.append(el("input", { type: "hidden", name: k, value: v }));
    f.append(el("button", { type: "submit", class: cls, text: label }));
    f.addEventListener("submit", submitForm);
    return f;
  }

  function renderActive() {
    const box = $("active");
    const cards = state.active.map((a) => {
      const heard = a.acks.length
        ? "Sudah mendengar (" + a.acks.length + " rumah): " + a.acks.join(", ")
        : "Belum ada rumah yang menekan tombol \u201cdengar\u201d.";
      const card = el("div", { class: "alert-card" + (a.drill ? " drill" : ""), "data-alert-id": a.id },
        el("div", null, el("span", { class: "type", text: typeName(a.type).toUpperCase() }),
          a.drill ? el("span", { class: "badge", text: "LATIHAN" }) : null),
        el("div", { class: "where", text: houseLabel(a.house) + " \u2014 " + fmtTime(a.received) + " (" + ago(a.received) + ")" }),
        el("div", { class: "acks", text: heard }),
        el("div", { class: "muted", text: "Kode " + a.id }));
      if (me) card.append(csrfForm("/api/end", { id: a.id }, "Akhiri peringatan", "danger"));
      return card;
    });
    if (!cards.length) cards.push(el("p", { class: "muted", text: "Tidak ada peringatan aktif." }));
    box.replaceChildren(...cards);
    document.title = state.active.length ? "\u26a0 PERINGATAN \u2014 Kandig" : "Kandig \u2014 papan pantau";
  }

  function renderHouses() {
    const counts = { online: 0, offline: 0, stale: 0, unknown: 0 };
    const tiles = state.houses.map((h) => {
      const st = h.stale ? "stale" : (HOUSE_STATE[h.state] ? h.state : "unknown");
      counts[st] += 1;
      const details = [];
      if (h.last_seen) details.push("kabar terakhir " + ago(h.last_seen));
      if (h.rssi !== null && h.rssi !== undefined) details.push("sinyal " + h.rssi + " dBm");
      if (h.outbox) details.push(h.outbox + " pesan menunggu");
      if (h.fw) details.push("versi " + h.fw);
      return el("div", { class: "house state-" + st, "data-house": h.house, "data-state": st },
        el("div", { class: "name", text: h.house }),
        el("div", { class: "state", text: HOUSE_STATE[st] }),
        el("div", { class: "detail", text: details.join(" · ") }));
    });
    $("houses").replaceChildren(...tiles);
    $("houses-summary").textContent = state.houses.length
      ? counts.online + " terhubung, " + counts.offline + " terputus, " + counts.stale + " diam, " + counts.unknown + " belum ada kabar"
      : "Belum ada rumah yang melapor.";
  }

  function row(cells, attrs) {
    return el("tr", attrs, ...cells.map((c) => (c instanceof Node ? el("td", null, c) : el("td", { text: c }))));
  }

  function renderHistory() {
    const rows = state.history.map((a) => row([
      fmtTime(a.received),
      typeName(a.type) + (a.drill ? " (latihan)" : ""),
      a.house === "hub" ? "Ketua RT" : a.house,
      el("span", { class: "status-" + a.status, text: STATUS[a.status] || a.status }),
      a.acks.length ? a.acks.join(", ") : "—",
      a.id,
    ], { "data-alert-id": a.id }));
    if (!rows.length) rows.push(row(["Belum ada peringatan.", "", "", "", "", ""]));
    $("history").tBodies[0].replaceChildren(...rows);
  }

  function yesNo(v) {
    return v === null || v === undefined ? "—" : (v ? "baik" : "GAGAL");
  }

  function fmtClock(s) {
    return new Date(s * 1000).toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function renderSchedule() {
    const sc = state.schedule;
    let text;
    if (!sc || !sc.selftest_at) {
      text = "Uji mandiri otomatis: mati (kampung hub run --selftest-at JJ:MM untuk menyalakan).";
    } else {
      text = "Uji mandiri otomatis (tanpa bunyi) setiap hari pukul " + sc.selftest_at +
        "; laporan dinilai " + sc.grace_s + " detik setelah perintah. ";
      if (sc.waiting === "alert") text += "Uji hari ini ditunda: ada peringatan aktif.";
      else if (sc.waiting === "broker") text += "Uji hari ini menunggu sambungan ke broker.";
      else if (sc.next <= state.now) text += "Uji berikutnya: segera.";
      else text += "Uji berikutnya: " + fmtTime(sc.next) + ".";
    }
    $("schedule").textContent = text;
  }

  function houseList(kind, label, houses) {
    return el("div", { class: "list list-" + kind, "data-list": kind },
      el("span", { class: "label", text: label + " (" + houses.length + "): " }),
      houses.length ? houses.join(", ") : "—");
  }

  function roundTitle(r) {
    const what = r.kind === "drill" ? "Latihan " + typeName(r.type || "bencana") : "Uji mandiri";
    const how = r.scheduled ? "terjadwal" : "dari papan pantau";
    return what + " " + r.id + " (" + how + "), dikirim " + fmtTime(r.sent);
  }

  function renderReports() {
    const cards = [["selftest", "Uji mandiri terakhir"], ["drill", "Latihan terakhir"]].map(([kind, title]) => {
      const r = state.reports[kind];
      const pending = state.pending.filter((p) => p.kind === kind);
      const card = el("div", { class: "report", id: "report-" + kind, "data-round-id": r ? r.id : "" },
        el("h3", { text: title }));
      if (r) {
        card.classList.add(r.failing.length || r.silent.length ? "bad" : "good");
        card.append(
          el("div", { class: "muted", text: roundTitle(r) }),
          houseList("ok", "Baik", r.ok),
          houseList("failing", "Gagal", r.failing),
          houseList("silent", "Tidak melapor", r.silent));
      } else {
        card.append(el("p", { class: "muted", text: kind === "drill" ? "Belum ada latihan yang dinilai." : "Belum ada uji mandiri yang dinilai." }));
      }
      for (const p of pending) {
        card.append(el("div", { class: "pending", "data-pending-id": p.id,
          text: "Sedang berjalan: " + roundTitle(p) + "; dinilai pukul " + fmtClock(p.due) +
            ". Sudah melapor (" + p.reported.length + ")" + (p.reported.length ? ": " + p.reported.join(", ") : "") + "." }));
      }
      return card;
    });
    $("reports").replaceChildren(...cards);
  }

  function renderTests() {
    renderSchedule();
    renderReports();
    const cmds = state.commands.map((c) => {
      let p = {};
      try { p = JSON.parse(c.payload); } catch (e) { p = {}; }
      const what = p.cmd === "drill" ? "Latihan " + typeName(p.type || "bencana")
        : "Uji mandiri" + (c.scheduled ? " (terjadwal)" : "");
      return row([fmtTime(c.sent), what, c.id, String(c.reports), String(c.ok)], { "data-command-id": c.id });
    });
    if (!cmds.length) cmds.push(row(["Belum ada perintah.", "", "", "", ""]));
    $("commands").tBodies[0].replaceChildren(...cmds);
    const tests = state.tests.map((t) => row([
      fmtTime(t.received), t.house, t.kind === "drill" ? "Latihan" : "Uji mandiri",
      t.ok ? "Baik" : "GAGAL", yesNo(t.siren), yesNo(t.buzzer), t.id,
    ]));
    if (!tests.length) tests.push(row(["Belum ada laporan.", "", "", "", "", "", ""]));
    $("tests").tBodies[0].replaceChildren(...tests);
  }

  function renderRejects() {
    const rows = state.rejects.map((r) => row([
      (state.reasons[r.reason] || r.reason) + " (" + r.reason + ")",
      r.house || "—", String(r.count), fmtTime(r.last),
    ]));
    if (!rows.length) rows.push(row(["Tidak ada.", "", "", ""]));
    $("rejects").tBodies[0].replaceChildren(...rows);
  }

  function fillTypes() {
    for (const sel of document.querySelectorAll(".type-select")) {
      if (sel.options.length) continue;
      for (const t of state.types) sel.append(el("option", { value: t.type, text: t.name }));
    }
  }

  function renderLogin() {
    $("login-link").hidden = !!me || !loginPossible;
    $("logout-form").hidden = !me;
    $("control").hidden = !me;
    $("who").textContent = me ? "Masuk sebagai " + me.user : "";
    for (const input of document.querySelectorAll("input.csrf")) input.value = me ? me.csrf : "";
  }

  function render(s) {
    state = s;
    $("net").textContent = s.net;
    const conn = $("hub-conn");
    conn.textContent = s.connected ? "Hub terhubung ke broker" : "Hub TERPUTUS dari broker";
    conn.className = "pill " + (s.connected ? "ok" : "bad");
    fillTypes();
    renderActive();
    renderHouses();
    renderHistory();
    renderTests();
    renderRejects();
    const st = s.stats;
    $("stats").textContent = "Pesan diterima " + st.received + ", disimpan " + st.stored +
      ", ditolak " + st.rejected + ", ganda " + st.duplicates + ". Diperbarui " + fmtTime(s.now) + ".";
  }

  async function submitForm(ev) {
    ev.preventDefault();
    const form = ev.target;
    const result = $("control-result");
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const r = await fetch(form.getAttribute("action"), {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const j = await r.json();
      result.textContent = j.ok ? j.message : j.error;
      result.className = j.ok ? "" : "bad";
      if (r.status === 401) await loadState();
    } catch (e) {
      result.textContent = "Gagal menghubungi hub: " + e;
      result.className = "bad";
    } finally {
      if (button) button.disabled = false;
    }
  }

  async function loadState() {
    const r = await fetch("/api/state", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (r.status === 401) {
      window.location.assign("/login");
      return;
    }
    const s = await r.json();
    me = s.me;
    loginPossible = s.login;
    renderLogin();
    render(s);
  }

  function listen() {
    const live = $("live");
    const es = new EventSource("/events");
    es.addEventListener("open", () => {
      live.textContent = "Langsung";
      live.className = "pill ok";
    });
    es.addEventListener("state", (ev) => render(JSON.parse(ev.data)));
    es.addEventListener("error", () => {
      live.textContent = "Menyambung ulang…";
      live.className = "pill bad";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("alert-form").addEventListener("submit", submitForm);
    $("command-form").addEventListener("submit", submitForm);
    loadState().then(listen, (e) => {
      $("active").replaceChildren(el("p", { class: "error", text: "Hub tidak menjawab: " + e }));
      listen();
    });
  });
})();
