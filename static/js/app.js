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
