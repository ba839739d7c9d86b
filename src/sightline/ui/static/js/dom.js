// DOM helpers shared by every page: queries, element building, dialogs and drop zones.

import { when } from "./format.js";

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

// el("a", { href, class: "x", text: "label" }, child, ...): attributes that are null, undefined or false are left out.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// <time datetime="..."> rendered on the server in UTC: show it in the reader's time zone.
export function localTimes(root = document) {
  $$("time[datetime]", root).forEach((node) => {
    const value = node.getAttribute("datetime");
    if (value && value !== "None") {
      node.title = value;
      node.textContent = when(value);
    }
  });
}

export function openDialog(dialog) {
  if (typeof dialog.showModal === "function") dialog.showModal();
  else dialog.setAttribute("open", "");
}

export function wireDialogClose(dialog) {
  $$("[data-close]", dialog).forEach((button) => button.addEventListener("click", () => dialog.close()));
  // A click on the backdrop (the dialog element itself, outside its content) closes it.
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
}

// Files dropped outside a drop zone would make the browser leave the page: keep them.
export function guardWindowDrops() {
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
}

export function dropZone(zone, onFiles) {
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    event.stopPropagation();
    zone.classList.remove("dragging");
    const files = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
    if (files.length) onFiles(files);
  });
}
