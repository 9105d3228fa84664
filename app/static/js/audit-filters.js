/* The audit page's person and unit boxes: as one types, at most 20 matching people or units are offered
   (GET /audit/suggestions fills the box's <datalist>); what is sent is what the box holds, a username or
   a unit code, as before. Without scripts the boxes take a username or a code typed in full. */
(function () {
  "use strict";

  function suggest(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-suggest-url");
    var field = input.getAttribute("data-suggest");
    var timer = null;
    var asked = "";
    if (!list || !url || !field || !window.fetch) {
      return;
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var typed = input.value.trim();
        if (!typed || typed === asked) {
          return;
        }
        asked = typed;
        var query = url + "?field=" + encodeURIComponent(field) + "&q=" + encodeURIComponent(typed);
        window.fetch(query, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { items: [] }; })
          .then(function (body) {
            if (asked !== typed) {
              return;  // a later answer is on its way
            }
            list.replaceChildren.apply(list, (body.items || []).map(function (item) {
              var option = document.createElement("option");
              option.value = item.value;
              option.textContent = item.label;
              return option;
            }));
          })
          .catch(function () { /* the box still takes what is typed */ });
      }, 200);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), suggest);
})();
