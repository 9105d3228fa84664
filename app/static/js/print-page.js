// The "Print" button of printable pages (no inline scripts: see app/security_headers.py).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
