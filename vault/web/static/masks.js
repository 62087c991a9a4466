// "Che thông tin": the citizen blacks out parts of a paper before sharing it. Rectangles are
// drawn on the page's picture and sent in the form's "masks" field as
// {paper id: [{page, x, y, w, h}]}, in fractions of the page from its top-left corner.
// Without this file the share page still works: the papers are shared whole.
(function () {
  "use strict";
  var field = document.querySelector("input[name=masks]");
  if (!field || !window.JSON || !window.PointerEvent) { return; }
  var form = field.form;
  var labels = {
    remove: field.getAttribute("data-remove") || "\u00d7",
    page: field.getAttribute("data-page") || "{page}",
    count: field.getAttribute("data-count") || "{count}"
  };
  // The usual fields of a căn cước, in fractions of the card: on the front (page 1) the
  // portrait, the QR code (it carries the old 9-digit ID number and the address) and the
  // address lines of the chip card; on the back (page 2, the 2024 card) the place of
  // residence and the QR code. Approximate: the citizen checks them on the picture.
  var PRESETS = {
    CCCD: {
      1: [{ x: 0.02, y: 0.28, w: 0.27, h: 0.52 }, { x: 0.75, y: 0.02, w: 0.23, h: 0.37 },
          { x: 0.28, y: 0.79, w: 0.70, h: 0.19 }],
      2: [{ x: 0.02, y: 0.04, w: 0.70, h: 0.34 }, { x: 0.73, y: 0.04, w: 0.25, h: 0.41 }]
    }
  };
  var papers = {};

  function checkbox(id) {
    return form.querySelector("input[name=paper][value='" + id + "']");
  }

  function fraction(value) { return Math.min(1, Math.max(0, value)); }

  // Four decimals, never leaving the page: the left and top edges rounded down, the right and
  // bottom edges up, so the mask covers at least what was drawn.
  function rounded(box) {
    var x = Math.floor(box.x * 10000) / 10000, y = Math.floor(box.y * 10000) / 10000;
    var right = Math.min(1, Math.ceil((box.x + box.w) * 10000) / 10000);
    var bottom = Math.min(1, Math.ceil((box.y + box.h) * 10000) / 10000);
    return { page: box.page, x: x, y: y, w: +(right - x).toFixed(4), h: +(bottom - y).toFixed(4) };
  }

  function save() {
    var chosen = {};
    Object.keys(papers).forEach(function (id) {
      var paper = papers[id], box = checkbox(id);
      if (paper.built && box && box.checked && paper.boxes.length) {
        chosen[id] = paper.boxes.map(rounded);
      }
      if (paper.count) {
        paper.count.textContent = labels.count.replace("{count}", String(paper.boxes.length));
      }
    });
    field.value = Object.keys(chosen).length ? JSON.stringify(chosen) : "";
  }

  function place(element, box) {
    element.style.left = (box.x * 100) + "%";
    element.style.top = (box.y * 100) + "%";
    element.style.width = (box.w * 100) + "%";
    element.style.height = (box.h * 100) + "%";
  }

  function draw(paper, box) {
    var element = document.createElement("div");
    element.className = "mask-box";
    place(element, box);
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "mask-remove";
    remove.textContent = "\u00d7";
    remove.setAttribute("aria-label", labels.remove);
    remove.addEventListener("click", function () {
      paper.boxes.splice(paper.boxes.indexOf(box), 1);
      element.remove();
      save();
    });
    element.appendChild(remove);
    paper.frames[box.page].appendChild(element);
  }

  function add(paper, box) {
    paper.boxes.push(box);
    draw(paper, box);
    save();
  }

  function point(frame, event) {
    var area = frame.getBoundingClientRect();
    return {
      x: fraction((event.clientX - area.left) / area.width),
      y: fraction((event.clientY - area.top) / area.height)
    };
  }

  function drawable(paper, frame, page) {
    var start = null, shown = null;
    frame.addEventListener("pointerdown", function (event) {
      if (event.target.closest && event.target.closest("button")) { return; }
      event.preventDefault();
      frame.setPointerCapture(event.pointerId);
      start = point(frame, event);
      shown = document.createElement("div");
      shown.className = "mask-box drawing";
      frame.appendChild(shown);
    });
    frame.addEventListener("pointermove", function (event) {
      if (!start) { return; }
      var at = point(frame, event);
      place(shown, { x: Math.min(start.x, at.x), y: Math.min(start.y, at.y),
                     w: Math.abs(at.x - start.x), h: Math.abs(at.y - start.y) });
    });
    function end(event) {
      if (!start) { return; }
      var at = point(frame, event);
      var box = { page: page, x: Math.min(start.x, at.x), y: Math.min(start.y, at.y),
                  w: Math.abs(at.x - start.x), h: Math.abs(at.y - start.y) };
      shown.remove();
      start = shown = null;
      if (box.w > 0.01 && box.h > 0.01) { add(paper, box); }
    }
    frame.addEventListener("pointerup", end);
    frame.addEventListener("pointercancel", function () {
      if (shown) { shown.remove(); }
      start = shown = null;
    });
  }

  function build(holder, paper) {
    var editor = holder.querySelector("[data-masks-editor]");
    var pages = parseInt(holder.getAttribute("data-pages"), 10) || 1;
    var source = holder.getAttribute("data-src");
    var name = holder.getAttribute("data-name") || "";
    var before = holder.querySelector("[data-masks-count]");
    for (var page = 1; page <= pages; page += 1) {
      var frame = document.createElement("div");
      frame.className = "mask-page";
      var picture = document.createElement("img");
      picture.src = source.replace("{page}", String(page));
      picture.alt = name + " \u2014 " + labels.page.replace("{page}", String(page));
      picture.draggable = false;
      frame.appendChild(picture);
      editor.insertBefore(frame, before);
      paper.frames[page] = frame;
      drawable(paper, frame, page);
    }
    var preset = PRESETS[holder.getAttribute("data-doc-type")] || {};
    Object.keys(preset).forEach(function (key) {
      var number = parseInt(key, 10);
      if (number > pages) { return; }
      preset[key].forEach(function (box) {
        add(paper, { page: number, x: box.x, y: box.y, w: box.w, h: box.h });
      });
    });
    paper.built = true;
  }

  document.querySelectorAll("[data-masks-for]").forEach(function (holder) {
    var id = holder.getAttribute("data-masks-for");
    var paper = papers[id] = { boxes: [], frames: {}, built: false,
                               count: holder.querySelector("[data-masks-count]") };
    var open = holder.querySelector("[data-masks-open]");
    var editor = holder.querySelector("[data-masks-editor]");
    holder.hidden = false;
    open.addEventListener("click", function () {
      var showing = editor.hidden;
      editor.hidden = !showing;
      open.setAttribute("aria-expanded", String(showing));
      if (showing && !paper.built) {
        var box = checkbox(id);
        if (box) { box.checked = true; }
        build(holder, paper);
      }
      save();
    });
    holder.querySelector("[data-masks-clear]").addEventListener("click", function () {
      paper.boxes.length = 0;
      holder.querySelectorAll(".mask-box").forEach(function (element) { element.remove(); });
      save();
    });
  });
  form.addEventListener("change", save);
  form.addEventListener("submit", save);
})();
