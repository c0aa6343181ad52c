/* The customer pages' one script: prices before sending, per-file settings, an upload with progress,
   live job status and Withdraw. It speaks the JSON API as any client does. Without it the pages are
   plain forms that still upload and show status. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function money(cents) {
    var c = Math.round(cents);
    var r = String(c % 100);
    return Math.floor(c / 100) + "." + (r.length < 2 ? "0" + r : r);
  }
  function mb(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }
  function randomKey() {
    var a = new Uint8Array(16);
    window.crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  // The server's {"error": "..."} in the customer's words; a few statuses get a hint of what to do.
  function problem(status, body, retryAfter) {
    var text = body && body.error ? body.error : "";
    if (status === 429) {
      return (text || "Too many requests from this device.") + " Please try again in " + (retryAfter || 60) + " seconds.";
    }
    if (status === 413) return text || "The file is too large for this shop.";
    if (status === 0) return "The shop's server could not be reached. Check the Wi-Fi connection and try again.";
    return text || "Something went wrong (" + status + "). Please try again.";
  }
  function readJson(xhrOrText) {
    try { return JSON.parse(xhrOrText); } catch (e) { return null; }
  }
  function showError(box, text) {
    box.textContent = text;
    box.hidden = !text;
    if (text) box.scrollIntoView({ block: "nearest" });
  }

  // ---- /s/{shop}: send files -------------------------------------------------------------------
  var form = $("#send");
  if (form) shopPage(form);

  function shopPage(form) {
    var cfg = JSON.parse(form.getAttribute("data-front"));
    var input = $("#files", form), list = $("#filelist", form), defaults = $("#defaults", form);
    var totalBox = $("#total", form), bar = $("#progress", form), errorBox = $("#error", form);
    var sendBtn = $("#sendbtn", form), done = $("#done"), pickTitle = $("#picktitle", form);
    var cards = [], groupKeys = {}, seq = 0, sending = false;
    input.required = false; // the script holds the picked files; the field only adds to them
    input.removeAttribute("name");

    input.addEventListener("change", function () {
      showError(errorBox, "");
      Array.prototype.forEach.call(input.files, addFile);
      input.value = "";
      update();
    });

    function defaultSettings() {
      return {
        copies: defaults.querySelector("[name=copies]").value || "1",
        print_mode: defaults.querySelector("[name=print_mode]").value,
        color_mode: defaults.querySelector("[name=color_mode]").value,
        paper_size: defaults.querySelector("[name=paper_size]").value,
        note: ""
      };
    }

    function field(label, control, cls) {
      var l = el("label", cls, label + " ");
      l.appendChild(control);
      return l;
    }
    function select(options, value) {
      var s = el("select");
      options.forEach(function (o) {
        var opt = el("option", null, o[1]);
        opt.value = o[0];
        if (o[0] === value) opt.selected = true;
        s.appendChild(opt);
      });
      return s;
    }
    function optionsOf(name) {
      return Array.prototype.map.call(defaults.querySelector("[name=" + name + "]").options,
        function (o) { return [o.value, o.textContent]; });
    }

    function addFile(file) {
      if (cards.length >= cfg.max_files) {
        showError(errorBox, "At most " + cfg.max_files + " files can be sent at once; send these first.");
        return;
      }
      var c = { id: ++seq, file: file, pages: null, problem: "", counting: false, s: defaultSettings() };
      var li = el("li", "file");
      var head = el("div", "filehead");
      head.appendChild(el("span", "fname", file.name));
      c.priceEl = el("span", "fprice", "");
      head.appendChild(c.priceEl);
      li.appendChild(head);
      c.metaEl = el("p", "fmeta", "");
      li.appendChild(c.metaEl);
      var grid = el("div", "settings");
      var copies = el("input");
      copies.type = "number"; copies.min = cfg.min_copies; copies.max = cfg.max_copies; copies.value = c.s.copies;
      copies.setAttribute("inputmode", "numeric");
      var sides = select(optionsOf("print_mode"), c.s.print_mode);
      var color = select(optionsOf("color_mode"), c.s.color_mode);
      var paper = select(optionsOf("paper_size"), c.s.paper_size);
      var note = el("input");
      note.maxLength = 500; note.placeholder = "e.g. staple, pages 1–3 only";
      grid.appendChild(field("Copies", copies));
      grid.appendChild(field("Sides", sides));
      grid.appendChild(field("Colour", color));
      grid.appendChild(field("Paper", paper));
      grid.appendChild(field("Note", note, "note"));
      li.appendChild(grid);
      var remove = el("button", "link", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove " + file.name);
      remove.addEventListener("click", function () {
        cards = cards.filter(function (x) { return x !== c; });
        li.remove();
        update();
      });
      li.appendChild(remove);
      function changed() {
        c.s = { copies: copies.value, print_mode: sides.value, color_mode: color.value, paper_size: paper.value,
                note: note.value.trim() };
        update();
      }
      [copies, sides, color, paper, note].forEach(function (x) {
        x.addEventListener("input", changed);
        x.addEventListener("change", changed);
      });
      c.li = li;
      list.appendChild(li);
      cards.push(c);
      if (file.size === 0) c.problem = "'" + file.name + "' is empty.";
      else if (file.size > cfg.max_file) {
        c.problem = "'" + file.name + "' is " + mb(file.size) + "; this shop takes files up to " +
          mb(cfg.max_file) + ". Make it smaller or send it in parts.";
      } else count(c);
    }

    // The server counts the pages (and refuses what it cannot print) once per file; the price then
    // follows each change of settings from the shop's price table, the same one the server charges from.
    function count(c) {
      c.counting = true;
      var fd = new FormData();
      fd.append("shop_id", cfg.shop_id);
      fd.append("files[]", c.file, c.file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/calculate-cost");
      xhr.onload = function () {
        var body = readJson(xhr.responseText);
        c.counting = false;
        if (xhr.status === 200 && body && body.files && body.files.length) {
          c.pages = body.files[0].num_pages;
          c.source = body.files[0].source_type || "";
          c.preview = body.files[0].preview_url || "";
        } else c.problem = problem(xhr.status, body, xhr.getResponseHeader("Retry-After"));
        update();
      };
      xhr.onerror = function () {
        c.counting = false;
        c.problem = problem(0);
        update();
      };
      xhr.send(fd);
    }

    function copiesOk(s) {
      var n = Number(s.copies);
      return /^\d+$/.test(String(s.copies).trim()) && n >= cfg.min_copies && n <= cfg.max_copies;
    }
    function cost(c) {
      return c.pages * Number(c.s.copies) * cfg.prices[c.s.color_mode + "|" + c.s.paper_size];
    }

    function converted(c) {
      return c.source === "word" ? " (converted from Word)" : c.source === "powerpoint" ?
        " (converted from PowerPoint)" : "";
    }

    function update() {
      var total = 0, ready = 0, waiting = 0;
      cards.forEach(function (c) {
        c.li.classList.toggle("bad", !!c.problem || !copiesOk(c.s));
        c.li.classList.toggle("refused", !!c.problem);
        if (c.problem) {
          c.metaEl.textContent = c.problem;
          c.priceEl.textContent = "cannot print";
        } else if (c.counting) {
          waiting++;
          c.metaEl.textContent = "Counting pages…";
          c.priceEl.textContent = "…";
        } else if (!copiesOk(c.s)) {
          c.metaEl.textContent = c.pages + (c.pages === 1 ? " page" : " pages") + " — copies must be " +
            cfg.min_copies + " to " + cfg.max_copies + ".";
          c.priceEl.textContent = "";
        } else {
          var k = cost(c);
          total += k; ready++;
          c.metaEl.textContent = c.pages + (c.pages === 1 ? " page" : " pages") + converted(c) + " × " +
            c.s.copies + (Number(c.s.copies) === 1 ? " copy" : " copies");
          if (c.preview) {
            // a converted file: the customer may look at the pages as they will print
            var a = el("a", "preview", "Check the pages");
            a.href = c.preview; a.target = "_blank"; a.rel = "noopener";
            c.metaEl.appendChild(document.createTextNode(" · "));
            c.metaEl.appendChild(a);
          }
          c.priceEl.textContent = money(k);
        }
      });
      list.hidden = cards.length === 0;
      // once files are picked each has its own settings; the defaults only seed the next ones
      defaults.hidden = cards.length > 0;
      pickTitle.textContent = cards.length ? "Add more files" : "Choose files to print";
      totalBox.hidden = cards.length === 0;
      totalBox.textContent = waiting ? "Counting pages…" : !ready ? "No file can be printed yet." :
        "Total for " + ready + (ready === 1 ? " file: " : " files: ") + money(total);
      sendBtn.disabled = sending;
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!sending) send();
    });

    function send() {
      showError(errorBox, "");
      if (!cards.length) return showError(errorBox, "Pick one or more files first.");
      if (cards.some(function (c) { return c.counting; })) return showError(errorBox, "Still counting pages — a moment, please.");
      if (cards.some(function (c) { return c.problem || !copiesOk(c.s); })) {
        return showError(errorBox, "Some files cannot be sent (marked in red). Remove them or fix their settings.");
      }
      var general = form.querySelector("[name=comment]").value.trim();
      // POST /upload takes one set of settings per request: files that share them go together.
      var groups = {}, order = [];
      cards.forEach(function (c) {
        var comment = [c.s.note, general].filter(Boolean).join(" — ");
        var sig = [c.s.copies, c.s.print_mode, c.s.color_mode, c.s.paper_size, comment].join("\u0001");
        if (!groups[sig]) { groups[sig] = { settings: c.s, comment: comment, cards: [] }; order.push(sig); }
        groups[sig].cards.push(c);
      });
      var too = order.filter(function (g) { return groups[g].comment.length > 1000; });
      if (too.length) return showError(errorBox, "The comment and a file's note together may be at most 1000 characters.");
      var bytes = cards.reduce(function (n, c) { return n + c.file.size; }, 0), sent = 0, results = [];
      sending = true;
      update();
      bar.hidden = false; bar.value = 0;
      (function next(i) {
        if (i >= order.length) return finish(results, "");
        var g = groups[order[i]];
        // the same files with the same settings keep their key: pressing Send again after a lost answer
        // replays the first upload instead of queueing the files twice
        var sig = order[i] + "\u0002" + g.cards.map(function (c) { return c.id; }).join(",");
        var key = groupKeys[sig] || (groupKeys[sig] = randomKey());
        var fd = new FormData();
        fd.append("shop_id", cfg.shop_id);
        fd.append("copies", String(Number(g.settings.copies)));
        fd.append("print_mode", g.settings.print_mode);
        fd.append("color_mode", g.settings.color_mode);
        fd.append("paper_size", g.settings.paper_size);
        fd.append("comment", g.comment);
        fd.append("customer_name", form.querySelector("[name=customer_name]").value.trim());
        fd.append("phone", form.querySelector("[name=phone]").value.trim());
        var size = 0;
        g.cards.forEach(function (c) { fd.append("files[]", c.file, c.file.name); size += c.file.size; });
        var xhr = new XMLHttpRequest();
        xhr.open("POST", "/upload");
        xhr.setRequestHeader("Idempotency-Key", key);
        xhr.upload.onprogress = function (e) {
          if (e.lengthComputable && bytes) bar.value = Math.min(99, 100 * (sent + size * e.loaded / e.total) / bytes);
        };
        xhr.onload = function () {
          var body = readJson(xhr.responseText);
          if (xhr.status === 200 && body && body.files) {
            sent += size;
            bar.value = 100 * sent / bytes;
            results = results.concat(body.files);
            g.cards.forEach(function (c) { c.li.remove(); });
            cards = cards.filter(function (c) { return g.cards.indexOf(c) < 0; });
            next(i + 1);
          } else finish(results, problem(xhr.status, body, xhr.getResponseHeader("Retry-After")));
        };
        xhr.onerror = function () {
          finish(results, "The upload was interrupted — check the Wi-Fi and press Send again. " +
            "Files already sent are not sent twice.");
        };
        xhr.send(fd);
      })(0);
    }

    function finish(results, error) {
      sending = false;
      bar.hidden = true;
      update();
      if (results.length) showDone(results, !!error);
      if (error) showError(errorBox, error);
    }

    function showDone(jobs, more) {
      done.textContent = "";
      done.appendChild(el("h2", null, more ? "These files were sent" : "Sent — thank you"));
      done.appendChild(el("p", "lead", "Show these codes at the counter. Each one opens its job when scanned."));
      var ul = el("ul", "codes"), total = 0;
      jobs.forEach(function (j) {
        var li = el("li", "job");
        var img = el("img", "qr");
        img.src = "/file/" + encodeURIComponent(j.code) + "/qr.png";
        img.alt = "QR code of job " + j.code;
        img.width = 148; img.height = 148;
        li.appendChild(img);
        var d = el("div");
        d.appendChild(el("span", "code", j.code));
        d.appendChild(el("span", "name", j.original_name));
        d.appendChild(el("span", null, j.num_pages + (j.num_pages === 1 ? " page" : " pages") +
          converted({ source: j.source_type }) + " · " + money(Math.round(Number(j.cost) * 100))));
        var a = el("a", null, "Follow this job");
        a.href = "/j/" + encodeURIComponent(j.code);
        d.appendChild(a);
        li.appendChild(d);
        ul.appendChild(li);
        total += Math.round(Number(j.cost) * 100);
      });
      done.appendChild(ul);
      done.appendChild(el("p", "total", "Total: " + money(total)));
      var again = el("a", null, "Send more files");
      again.href = location.pathname;
      done.appendChild(again);
      done.hidden = false;
      if (!more) form.hidden = true;
      done.scrollIntoView({ block: "start" });
    }
  }

  // ---- /j/{code}: follow a job -----------------------------------------------------------------
  var jobBox = $("#job");
  if (jobBox) jobPage(jobBox);

  function jobPage(box) {
    var cfg = JSON.parse(box.getAttribute("data-front"));
    var statusEl = $("#status", box), withdrawForm = $("#withdraw", box), errorBox = $("#error", box);
    var FINAL = { downloaded: 1, cancelled: 1, withdrawn: 1 };

    function words(s) {
      var t = cfg.words[s.status] || s.status;
      if (s.status === "uploaded" && !s.queue_position) t = "Waiting";
      return t.replace("{n}", s.queue_position || "").replace("{reason}", s.cancel_reason || "no reason given");
    }
    function show(s) {
      cfg.status = s.status;
      statusEl.className = "status s-" + s.status;
      statusEl.textContent = words(s);
      if (withdrawForm && s.status !== "uploaded") withdrawForm.hidden = true;
    }
    function poll() {
      if (FINAL[cfg.status]) return;
      if (document.hidden) return setTimeout(poll, 3000);
      fetch("/file/" + encodeURIComponent(cfg.code) + "/status", { cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) { if (s) show(s); setTimeout(poll, 3000); })
        .catch(function () { setTimeout(poll, 6000); });
    }
    setTimeout(poll, 3000);

    if (withdrawForm) {
      withdrawForm.addEventListener("submit", function (ev) {
        ev.preventDefault();
        showError(errorBox, "");
        if (!window.confirm("Withdraw job " + cfg.code + "? It will not be printed and you will not pay for it.")) return;
        var btn = withdrawForm.querySelector("button");
        btn.disabled = true;
        fetch("/withdraw/" + encodeURIComponent(cfg.code), { method: "POST", headers: { "Idempotency-Key": randomKey() } })
          .then(function (r) { return r.json().then(function (b) { return { r: r, b: b }; }, function () { return { r: r, b: null }; }); })
          .then(function (x) {
            btn.disabled = false;
            if (x.r.ok) show(x.b);
            else showError(errorBox, "Not withdrawn: " + problem(x.r.status, x.b, x.r.headers.get("Retry-After")));
          })
          .catch(function () { btn.disabled = false; showError(errorBox, problem(0)); });
      });
    }
  }
})();
