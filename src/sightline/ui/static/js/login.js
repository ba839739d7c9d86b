// Login page: the admin token is sent once; the server answers with a session cookie.

import { post } from "./api.js";
import { $ } from "./dom.js";
import { clearErrors, setBusy, showApiError, showError } from "./forms.js";
import { api } from "./urls.js";

async function logIn(form) {
  clearErrors(form);
  const token = form.elements.token.value;
  if (!token) return showError(form, "token", "Enter the admin token.");
  const button = $('button[type="submit"]', form);
  setBusy(button, true, "Logging in…");
  try {
    await post(api.session, { token });
    location.assign(form.dataset.next || "/");
  } catch (err) {
    showApiError(form, err);
    form.elements.token.select();
    setBusy(button, false);
  }
}

export function initLogin() {
  const form = $("#login-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    logIn(form);
  });
}
