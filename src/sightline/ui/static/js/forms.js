// Forms: inline errors next to the field the API names in `where`, busy buttons, number fields.

import { $, $$ } from "./dom.js";

export function clearErrors(root) {
  $$("[data-error-for]", root).forEach((node) => { node.hidden = true; node.textContent = ""; });
  $$("[aria-invalid]", root).forEach((node) => node.removeAttribute("aria-invalid"));
}

// The error element for `where` (in the form, else anywhere on the page), or null.
function errorElementFor(form, where, aliases) {
  const key = (where && aliases[where]) || where;
  if (!key) return null;
  const selector = `[data-error-for="${CSS.escape(key)}"]`;
  return $(selector, form) || $(selector);
}

// Show `message` next to the field `where` names (through `aliases`), else in the form's own error line.
export function showError(form, where, message, aliases = {}) {
  let target = errorElementFor(form, where, aliases);
  if (target) {
    // "hnsw.m: Input should be ..." reads better as "Input should be ..." next to the field itself.
    target.textContent = message.replace(/^[\w.]+: /, "");
  } else {
    target = $('[data-error-for="_form"]', form);
    target.textContent = where === "ml_service" ? `ML service: ${message}` : message;
  }
  target.hidden = false;
  const field = target.id ? $(`[aria-describedby~="${CSS.escape(target.id)}"]`) : null;
  if (field) {
    field.setAttribute("aria-invalid", "true");
    const folded = field.closest("details");
    if (folded) folded.open = true; // a field under "Advanced" is shown before it takes the focus
    field.focus();
  }
}

export function showApiError(form, err, aliases) {
  showError(form, err.where, err.message, aliases);
}

export function setBusy(button, busy, label) {
  if (!button) return;
  if (busy) {
    button.dataset.label = button.textContent;
    button.textContent = label;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// The whole number in form.elements[name], checked against min..max: {value} or {error}.
export function integerField(form, name, min, max, { optional = false } = {}) {
  const raw = form.elements[name].value.trim();
  if (raw === "") return optional ? { value: null } : { error: "Enter a number." };
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    return { error: `Enter a whole number from ${min} to ${max}.` };
  }
  return { value };
}
