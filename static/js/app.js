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
