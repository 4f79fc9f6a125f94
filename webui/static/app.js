// Tunneler web UI: the few things a server-rendered page cannot do alone.
// Everything works without it except live progress, live tail and
// generating a key in place (the button then posts the form instead).
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name=csrf]') || {}).content || "";
  function getJSON(url, cb) {
    var x = new XMLHttpRequest();
    x.open("GET", url);
    x.setRequestHeader("Accept", "application/json");
    x.onload = function () { if (x.status === 200) cb(JSON.parse(x.responseText)); };
    x.send();
  }
  // Generate a strong PSK in place.
  var gen = document.querySelector("[data-gen]");
  if (gen) {
    gen.addEventListener("click", function (e) {
      e.preventDefault();
      var x = new XMLHttpRequest();
      x.open("POST", "/api/psk");
      x.setRequestHeader("X-CSRF-Token", csrf);
      x.onload = function () {
        if (x.status !== 200) return;
        var f = document.getElementById("psk");
        f.type = "text";
        f.value = JSON.parse(x.responseText).psk;
        var n = document.createElement("small");
        n.className = "warn";
        n.textContent = "Generated now. Copy it to the remote device; the box will not show it again.";
        f.parentNode.insertBefore(n, f.nextSibling);
      };
      x.send();
    });
  }
  // Live apply progress.
  var prog = document.getElementById("progress");
  if (prog) {
    var state = document.getElementById("apply-state");
    var last = 0, finished = false;
    function show(ev) {
      var li = document.createElement("li");
      li.className = ev.state;
      var b = document.createElement("b");
      b.textContent = ev.step + " ";
      li.appendChild(b);
      li.appendChild(document.createTextNode(ev.message));
      prog.appendChild(li);
    }
    function finish(ev) {
      finished = true;
      state.textContent = ev.state === "ok" ? "Tunnel up. " + ev.message : "Not done: " + ev.message;
      state.className = "state " + (ev.state === "ok" ? "up" : "down");
      state.id = "apply-state";
      state.setAttribute("data-done", ev.state);
    }
    var items = prog.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) {
      last = Math.max(last, +items[i].getAttribute("data-seq"));
    }
    prog.innerHTML = "";
    last = 0;
    function poll() {
      getJSON("/api/progress?after=" + last, function (evs) {
        for (var i = 0; i < evs.length; i++) {
          show(evs[i]);
          last = Math.max(last, evs[i].seq);
          if (evs[i].done) finish(evs[i]);
        }
      });
      if (!finished) setTimeout(poll, 700);
    }
    poll();
  }
  // Live log tail.
  var tail = document.getElementById("tail");
  if (tail) {
    var table = document.getElementById("loglines");
    var timer = null;
    function lastTime() {
      var rows = table.querySelectorAll("tr[data-time]");
      return rows.length ? rows[rows.length - 1].getAttribute("data-time") : new Date(Date.now() - 60000).toISOString();
    }
    function pull() {
      var q = new URLSearchParams(new FormData(document.getElementById("logfilter")));
      q.set("since", lastTime());
      getJSON("/api/logs?" + q.toString(), function (d) {
        for (var i = 0; i < d.lines.length; i++) {
          var l = d.lines[i], tr = document.createElement("tr");
          tr.setAttribute("data-time", l.time);
          [l.time.replace("T", " ").slice(0, 19) + "Z", l.kind, l.text].forEach(function (t) {
            var td = document.createElement("td"); td.textContent = t; tr.appendChild(td);
          });
          table.appendChild(tr);
        }
        if (d.lines.length && tail.checked) window.scrollTo(0, document.body.scrollHeight);
      });
    }
    tail.addEventListener("change", function () {
      if (tail.checked) { pull(); timer = setInterval(pull, 2000); } else { clearInterval(timer); }
    });
  }
  // Firmware upload: the bundle is the streamed body of PUT /api/firmware,
  // with a progress bar; the box verifies it as it arrives.
  var up = document.getElementById("fw-upload");
  if (up) {
    up.addEventListener("submit", function (e) {
      e.preventDefault();
      var file = document.getElementById("fw-file").files[0];
      if (!file) return;
      var bar = document.getElementById("fw-progress"), state = document.getElementById("fw-state");
      var send = document.getElementById("fw-send");
      var x = new XMLHttpRequest();
      x.open("PUT", "/api/firmware" + (document.getElementById("fw-downgrade").checked ? "?downgrade=yes" : ""));
      x.setRequestHeader("X-CSRF-Token", csrf);
      x.setRequestHeader("Content-Type", "application/octet-stream");
      bar.hidden = false; bar.max = file.size || 1; bar.value = 0;
      send.disabled = true; state.className = ""; state.textContent = "Uploading ...";
      x.upload.onprogress = function (ev) {
        if (!ev.lengthComputable) return;
        bar.max = ev.total; bar.value = ev.loaded;
        state.textContent = "Uploading and verifying: " + Math.floor(100 * ev.loaded / ev.total) + "%";
      };
      x.upload.onload = function () { state.textContent = "Uploaded; the box finishes verifying and writing ..."; };
      x.onload = function () {
        var r = {};
        try { r = JSON.parse(x.responseText); } catch (err) { }
        if (x.status === 200) { location.href = "/firmware"; return; }
        send.disabled = false;
        state.className = "err";
        state.textContent = "Refused: " + ((r.errors && r.errors[0] && r.errors[0].message) || ("HTTP " + x.status));
      };
      x.onerror = function () {
        send.disabled = false; state.className = "err";
        state.textContent = "The upload failed: the connection was lost. Nothing was changed; try again.";
      };
      x.send(file);
    });
  }
})();

// The trial banner counts down to its deadline; at zero the box has gone
// back, so the page reloads to show the settings it runs now.
(function () {
  var b = document.getElementById('trial-banner');
  var left = document.getElementById('trial-left');
  if (!b || !left) return;
  var deadline = Date.parse(b.getAttribute('data-deadline'));
  function tick() {
    var s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    left.textContent = Math.floor(s / 60) + ':' + ('0' + (s % 60)).slice(-2);
    if (s === 0) { setTimeout(function () { location.reload(); }, 3000); return; }
    setTimeout(tick, 1000);
  }
  tick();
})();

// Diagnostics: each form's action streams its output (NDJSON from the
// API) into the output box as it runs; a capture shows its count and
// size live and offers its file at the end.
(function () {
  var forms = document.querySelectorAll("form[data-diag]");
  if (!forms.length || !window.fetch || !window.TextDecoder) return;
  var csrf = (document.querySelector('meta[name=csrf]') || {}).content || "";
  var out = document.getElementById("diag-out"), state = document.getElementById("diag-state");
  var live = document.getElementById("capture-live"), dl = document.getElementById("capture-download");
  var busy = false;
  function kb(n) { return n < 1024 ? n + " B" : (n / 1024).toFixed(1) + " KiB"; }
  function handle(ev) {
    if (ev.line !== undefined) { out.appendChild(document.createTextNode(ev.line + "\n")); }
    if (ev.packets !== undefined) { live.hidden = false; live.textContent = ev.packets + " packets, " + kb(ev.bytes); }
    if (ev.done) {
      state.textContent = ev.ok ? "Done." : "Failed: " + ev.error;
      state.className = "state " + (ev.ok ? "up" : "down");
      state.setAttribute("data-done", ev.ok ? "ok" : "failed");
      if (ev.download) { dl.hidden = false; dl.setAttribute("href", ev.download.replace(/^\/api/, "")); }
    }
  }
  Array.prototype.forEach.call(forms, function (f) {
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      if (busy) return;
      busy = true;
      out.textContent = ""; state.textContent = "Running ..."; state.className = "state"; state.removeAttribute("data-done");
      live.hidden = true;
      var body = new URLSearchParams(new FormData(f));
      fetch("/api" + f.getAttribute("action"), {method: "POST", body: body, credentials: "same-origin",
        headers: {"X-CSRF-Token": csrf, "Accept": "application/x-ndjson"}}).then(function (resp) {
        if (!resp.ok) {
          return resp.json().then(function (r) {
            var msgs = (r.errors || []).map(function (x) { return (x.field ? x.field + ": " : "") + x.message; });
            handle({done: true, ok: false, error: msgs.join("; ") || ("HTTP " + resp.status)});
          });
        }
        var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
        function pump() {
          return reader.read().then(function (r) {
            buf += dec.decode(r.value || new Uint8Array(), {stream: !r.done});
            var i;
            while ((i = buf.indexOf("\n")) >= 0) {
              var l = buf.slice(0, i); buf = buf.slice(i + 1);
              if (l) handle(JSON.parse(l));
            }
            if (!r.done) return pump();
          });
        }
        return pump();
      }).catch(function (err) { handle({done: true, ok: false, error: "the connection was lost: " + err}); })
        .then(function () { busy = false; });
    });
  });
})();
