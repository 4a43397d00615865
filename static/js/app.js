// Behaviours are attached to data-* hooks only.
// data-size-table on a form: show the output size for the chosen aspect ratio × resolution.
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-size-table]");
  if (!form) return;
  const table = JSON.parse(form.dataset.sizeTable);
  const size = (table[form.elements.resolution?.value] || {})[form.elements.aspect_ratio?.value];
  const hint = form.querySelector("[data-size-hint]");
  if (hint && size) hint.textContent = `Output size ${size[0]} × ${size[1]}`;
});

// data-random-seed="#field": put a fresh random seed (1..1,000,000) into that field.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-random-seed]");
  if (!button) return;
  const input = document.querySelector(button.dataset.randomSeed);
  if (input) {
    input.value = 1 + Math.floor(Math.random() * 1000000);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
});

// data-filter-options="#box" on a search input: hide the box's options whose text does not match.
document.addEventListener("input", (event) => {
  const input = event.target.closest("[data-filter-options]");
  if (!input) return;
  const box = document.querySelector(input.dataset.filterOptions);
  const query = input.value.trim().toLowerCase();
  box?.querySelectorAll("label.option").forEach((option) => {
    option.hidden = Boolean(query) && !option.textContent.toLowerCase().includes(query);
  });
});

// data-select-on-focus on a read-only input (a share link's address): select it all for copying.
document.addEventListener("focusin", (event) => {
  if (event.target.matches?.("input[data-select-on-focus]")) event.target.select();
});

// data-started="<epoch seconds>" on a running card: its elapsed time ticks in the page (a card is
// drawn once and kept while nothing on it changes, so the figure it was drawn with goes stale).
// The page's data-server-time says how far this browser's clock is from the server's. Same
// format as the `duration` template filter.
function formatElapsed(total) {
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes} min ${String(total % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
const clockSkew = Number(document.body.dataset.serverTime || 0) * 1000 - Date.now();
function tickElapsed() {
  const now = (Date.now() + (Number.isFinite(clockSkew) ? clockSkew : 0)) / 1000;
  document.querySelectorAll("[data-started]").forEach((element) => {
    element.textContent = formatElapsed(Math.max(0, Math.floor(now - Number(element.dataset.started))));
  });
}
setInterval(tickElapsed, 1000);
document.addEventListener("htmx:afterSettle", tickElapsed);
tickElapsed();

// ---------------------------------------------------------------------------------------------
// Gallery: the full-screen viewer, card menus and selecting several cards.

// data-viewer-open on a link to a result's viewer (its href): open it in the page's
// <dialog data-viewer> instead of a new page. The arrow keys (or the ← → buttons,
// data-viewer-step) go through the results of the page in their order; Escape closes.
const viewerDialog = () => document.querySelector("dialog[data-viewer]");
const viewerLinks = () => [...document.querySelectorAll("a[data-viewer-open]")].filter((link) => !link.closest("dialog"));
let viewerOpener = null;

function openViewer(link) {
  const dialog = viewerDialog();
  if (!dialog || !window.htmx) {
    window.location.assign(link.href);
    return;
  }
  viewerOpener = link;
  dialog.dataset.key = link.dataset.viewerKey || "";
  const body = dialog.querySelector("[data-viewer-body]");
  htmx.ajax("GET", link.href, { target: body, swap: "innerHTML" }).then(() => {
    if (!dialog.open) dialog.showModal();
    body.querySelector("[data-viewer-close]")?.focus({ preventScroll: true });
  });
}

function stepViewer(step) {
  const links = viewerLinks();
  const dialog = viewerDialog();
  const at = links.findIndex((link) => link.dataset.viewerKey === dialog?.dataset.key);
  const next = links[at + step];
  if (at >= 0 && next) openViewer(next);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-viewer-open]");
  if (link && !link.closest("dialog") && !(event.ctrlKey || event.metaKey || event.shiftKey || event.button)) {
    event.preventDefault();
    openViewer(link);
    return;
  }
  const step = event.target.closest("[data-viewer-step]");
  if (step) {
    stepViewer(Number(step.dataset.viewerStep));
    return;
  }
  const close = event.target.closest("dialog[data-viewer] [data-viewer-close]");
  if (close) {
    event.preventDefault();
    close.closest("dialog").close();
    return;
  }
  // data-viewer-zoom (or a click on the picture): between fitting the screen and full size.
  const zoom = event.target.closest("dialog[data-viewer] [data-viewer-zoom], dialog[data-viewer] [data-viewer-image]");
  if (zoom) toggleZoom(zoom.closest("[data-viewer-key]"), event);
});

function toggleZoom(frame, event) {
  const stage = frame?.querySelector("[data-viewer-stage]");
  const image = stage?.querySelector("[data-viewer-image]");
  if (!image) return;
  const zoomed = stage.classList.toggle("zoomed");
  frame.querySelector("[data-viewer-zoom]")?.setAttribute("aria-pressed", String(zoomed));
  if (zoomed && event?.target === image) {
    // Keep the point that was clicked under the pointer.
    const box = stage.getBoundingClientRect();
    const [fittedWidth, fittedHeight] = [box.width, box.height];
    requestAnimationFrame(() => {
      const x = (event.offsetX / fittedWidth) * image.clientWidth;
      const y = (event.offsetY / fittedHeight) * image.clientHeight;
      stage.scrollTo(x - (event.clientX - box.left), y - (event.clientY - box.top));
    });
  }
}

document.addEventListener("keydown", (event) => {
  const dialog = viewerDialog();
  if (!dialog?.open || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest("input, textarea, select, video, audio")) return;
  if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
    event.preventDefault();
    stepViewer(event.key === "ArrowRight" ? 1 : -1);
  } else if (event.key === "z" || event.key === "Z") {
    toggleZoom(dialog.querySelector("[data-viewer-key]"));
  }
});

// Closing the viewer stops what it plays and gives the focus back to the result it showed.
document.addEventListener("close", (event) => {
  if (!event.target.matches?.("dialog[data-viewer]")) return;
  event.target.querySelector("[data-viewer-body]").replaceChildren();
  const shown = viewerLinks().find((link) => link.dataset.viewerKey === event.target.dataset.key);
  (shown || viewerOpener)?.focus({ preventScroll: false });
}, true);

// data-menu on a <details>: one open at a time, closed by a click elsewhere or Escape.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details[data-menu][open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.open = false;
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = event.target.closest?.("details[data-menu][open]");
  if (menu) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});

// data-select checkboxes (form="bulk"): the bar counts them and keeps what is ticked when a
// card or the list is redrawn by a poll.
const selected = new Set();

function showSelection() {
  const ticked = document.querySelectorAll("input[data-select]:checked").length;
  const count = document.querySelector("[data-bulk-count]");
  if (count) count.textContent = ticked ? `${ticked} selected` : "Tick cards to act on several at once.";
  document.querySelectorAll("[data-needs-selection]").forEach((button) => {
    button.disabled = ticked === 0;
  });
  document.querySelector("[data-bulk]")?.classList.toggle("has-selection", ticked > 0);
}

document.addEventListener("change", (event) => {
  if (!event.target.matches?.("input[data-select]")) return;
  if (event.target.checked) selected.add(event.target.value);
  else selected.delete(event.target.value);
  showSelection();
});

document.addEventListener("click", (event) => {
  const all = event.target.closest("[data-select-all], [data-select-none]");
  if (!all) return;
  const tick = all.matches("[data-select-all]");
  document.querySelectorAll("input[data-select]").forEach((box) => {
    box.checked = tick;
    if (tick) selected.add(box.value);
    else selected.delete(box.value);
  });
  showSelection();
});

function restoreSelection(root) {
  root.querySelectorAll?.("input[data-select]").forEach((box) => {
    box.checked = selected.has(box.value);
  });
}

document.addEventListener("htmx:load", (event) => {
  restoreSelection(event.detail.elt);
  if (event.detail.elt.id === "generation-list") {
    // The list was redrawn (a bulk action, a filter, a new job): forget cards no longer shown.
    const shown = new Set([...event.detail.elt.querySelectorAll("input[data-select]")].map((box) => box.value));
    selected.forEach((id) => shown.has(id) || selected.delete(id));
  }
});
document.addEventListener("htmx:afterSettle", showSelection);
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-select]:checked").forEach((box) => selected.add(box.value));
  document.querySelector("[data-bulk]")?.classList.add("ready"); // its actions show once something is ticked
  showSelection();
});

// A card's menu near the bottom of the window opens upwards, so it is not cut off (again once
// its actions have arrived: a card's menu is fetched when it is first opened).
function placeMenu(menu) {
  if (!menu?.open) return;
  const items = menu.querySelector(".menu-items");
  menu.classList.remove("up");
  const below = items.getBoundingClientRect().bottom > window.innerHeight;
  if (below && menu.getBoundingClientRect().top > items.offsetHeight + 16) menu.classList.add("up");
}
document.addEventListener("toggle", (event) => {
  if (event.target.matches?.("details[data-menu]")) placeMenu(event.target);
}, true);
document.addEventListener("htmx:afterSettle", (event) => placeMenu(event.detail.elt.closest?.("details[data-menu]")));

/* ---- Studio: prompt bar, inputs, navigation ------------------------------------------ */

// Scripts run: narrow layouts may fold the navigation into its menu button (without them it stays open).
document.documentElement.classList.add("js");

// data-menu-toggle on a button: open and close the element its aria-controls names.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu-toggle]");
  if (!button) return;
  const open = button.getAttribute("aria-expanded") !== "true";
  button.setAttribute("aria-expanded", String(open));
  document.getElementById(button.getAttribute("aria-controls"))?.classList.toggle("open", open);
});
document.addEventListener("keydown", (event) => {
  const button = document.querySelector("[data-menu-toggle][aria-expanded=true]");
  if (event.key === "Escape" && button) {
    button.click();
    button.focus();
  }
});

// data-studio-form: Ctrl+Enter (Cmd+Enter on a Mac) submits from any field.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  const form = event.target.closest?.("form[data-studio-form]");
  if (!form) return;
  event.preventDefault();
  form.requestSubmit();
});

// data-max-length on a prompt box: count its characters in the field's [data-counter].
document.addEventListener("input", (event) => {
  const box = event.target.closest?.("[data-max-length]");
  const counter = box?.closest(".field")?.querySelector("[data-counter]");
  if (!counter) return;
  const limit = Number(box.dataset.maxLength);
  counter.textContent = `${box.value.length.toLocaleString("en")} / ${limit.toLocaleString("en")} characters`
    + (box.value.length > limit ? `: ${(box.value.length - limit).toLocaleString("en")} too many` : "");
  counter.classList.toggle("over", box.value.length > limit);
});

// The studio form swapped for another model or after a submit: "More settings" stays open if it was.
let moreSettingsOpen = false;
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.target?.matches?.("form[data-studio-form]")) {
    moreSettingsOpen = Boolean(event.detail.target.querySelector(".more-settings[open]"));
  }
});
document.addEventListener("htmx:afterSettle", (event) => {
  if (moreSettingsOpen && event.target.matches?.("form[data-studio-form]")) {
    event.target.querySelector(".more-settings")?.setAttribute("open", "");
  }
});

// A re-rendered studio form with an error: bring the first one into view and focus its field.
document.addEventListener("htmx:afterSettle", (event) => {
  const form = event.target;
  if (!form.matches?.("form[data-studio-form]")) return;
  const problem = form.querySelector("[aria-invalid=true], .field.invalid, [data-form-error]");
  if (!problem) return;
  const target = problem.matches("input, select, textarea, [data-form-error]") ? problem
    : problem.querySelector("input:not([type=hidden]):not([type=search]), select, textarea") || problem;
  target.closest("details:not([open])")?.setAttribute("open", "");
  target.focus({ preventScroll: true });
  (target.closest(".field") || target).scrollIntoView({ block: "center" });
});

// data-focus-errors: a page sent back with errors (a plain form post) starts at the first one.
document.querySelector("[data-focus-errors] [aria-invalid=true]")?.focus();

// generationCreated (sent with the new ids): once the list shows a new card, bring it into view.
// The new card stays marked when its own poll redraws it, until the next submit marks another.
let revealing = [];
let marked = "";
document.body.addEventListener("generationCreated", (event) => { revealing = event.detail?.ids || []; });
document.addEventListener("htmx:afterSettle", () => {
  if (marked) document.getElementById(marked)?.classList.add("just-made");
  const card = revealing.map((id) => document.getElementById(`card-${id}`)).find(Boolean);
  if (!card) return;
  revealing = [];
  marked = card.id;
  card.classList.add("just-made");
  const box = card.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) card.scrollIntoView({ block: "start" });
});

// data-dropzone: an image dropped on it, or pasted while the form has focus, goes into its file
// input (sent with the form, checked on the server as a chosen file is) and shows a preview.
function giveFiles(zone, files) {
  const input = zone.querySelector("input[type=file]");
  const images = [...files].filter((file) => file.type.startsWith("image/"));
  if (!input || !images.length) return false;
  const transfer = new DataTransfer();
  (input.multiple ? images : images.slice(0, 1)).forEach((file) => transfer.items.add(file));
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
  return true;
}
document.addEventListener("change", (event) => {
  const input = event.target;
  const preview = input.matches?.("[data-dropzone] input[type=file]")
    && input.closest("[data-dropzone]").querySelector("[data-drop-preview]");
  if (!preview) return;
  preview.replaceChildren();
  [...input.files].forEach((file) => {
    const reader = new FileReader();
    reader.onload = () => {
      const img = Object.assign(document.createElement("img"), { src: reader.result, alt: file.name });
      preview.append(img);
    };
    reader.readAsDataURL(file);
  });
  // A new file replaces a picked thumbnail (the server prefers the file too).
  input.closest("[data-dropzone]").querySelector(".thumb.none input")?.click();
});
["dragenter", "dragover"].forEach((type) => document.addEventListener(type, (event) => {
  const zone = event.target.closest?.("[data-dropzone]");
  if (!zone) return;
  event.preventDefault();
  zone.classList.add("dragging");
}));
["dragleave", "drop"].forEach((type) => document.addEventListener(type, (event) => {
  const zone = event.target.closest?.("[data-dropzone]");
  if (!zone) return;
  zone.classList.remove("dragging");
  if (type === "drop") {
    event.preventDefault();
    giveFiles(zone, event.dataTransfer.files);
  }
}));
document.addEventListener("paste", (event) => {
  // Inside the studio form, or with nothing else in focus.
  const form = event.target.closest?.("form[data-studio-form]")
    || (event.target === document.body ? document.querySelector("form[data-studio-form]") : null);
  const files = event.clipboardData?.files;
  if (!form || !files?.length) return;
  // The zone in focus, else the first one without a file yet.
  const zones = [...form.querySelectorAll("[data-dropzone]")];
  const zone = event.target.closest?.("[data-dropzone]")
    || zones.find((z) => !z.querySelector("input[type=file]").files.length) || zones[0];
  if (zone && giveFiles(zone, files)) {
    event.preventDefault();
    zone.scrollIntoView({ block: "nearest" });
  }
});

// data-live-grid: a grid the page's live feed adds cards to (out of band). A card already on the
// page (the list was just redrawn with it) is not added twice, and "nothing here yet" goes.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const grid = event.detail.target;
  if (!grid?.matches?.("[data-live-grid]")) return;
  event.detail.fragment.querySelectorAll?.(":scope > [id]").forEach((card) => {
    if (document.getElementById(card.id)) card.remove();
  });
  grid.querySelectorAll(":scope > .empty").forEach((line) => line.remove());
});
