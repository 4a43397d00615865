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

// data-elapsed="<seconds>" on a running card: keep its elapsed time ticking between polls
// (an unchanged card is not redrawn). Same format as the `duration` template filter.
function formatElapsed(total) {
  if (total < 60) return `${total} s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes} min ${String(total % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
setInterval(() => {
  const now = Date.now();
  document.querySelectorAll("[data-elapsed]").forEach((element) => {
    element.dataset.elapsedFrom ||= String(now - Number(element.dataset.elapsed) * 1000);
    element.textContent = formatElapsed(Math.floor((now - Number(element.dataset.elapsedFrom)) / 1000));
  });
}, 1000);

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
