/* Long checkbox lists of a step's form (e.g. the units to consult on a draft: hundreds at a province's
   scale): a search box narrows the list as one types. Matching ignores case and Vietnamese diacritics
   ("van phong" finds "Văn phòng Sở"), every word must appear; ticked boxes stay ticked when hidden, and
   the line under the box says how many are shown and chosen. Enter in the box does not send the form.
   Without scripts the box stays hidden and the whole list is there, as before. */
(function () {
  "use strict";

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  }

  function setUp(box) {
    var list = document.getElementById(box.getAttribute("data-choice-filter"));
    var input = box.querySelector("input[type=search]");
    var count = box.querySelector("[aria-live]");
    var template = box.getAttribute("data-count-text") || "{shown} / {total}";
    if (!list || !input || !count) {
      return;
    }
    var items = Array.prototype.map.call(list.querySelectorAll(".form-check"), function (element) {
      return { element: element, text: fold(element.textContent), box: element.querySelector("input") };
    });

    function update() {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      var chosen = 0;
      items.forEach(function (item) {
        var match = words.every(function (word) { return item.text.indexOf(word) !== -1; });
        item.element.hidden = !match;
        shown += match ? 1 : 0;
        chosen += item.box && item.box.checked ? 1 : 0;
      });
      count.textContent = template
        .replace("{shown}", shown).replace("{total}", items.length).replace("{chosen}", chosen);
    }

    input.addEventListener("input", update);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
      }
    });
    list.addEventListener("change", update);
    box.hidden = false;
    update();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-choice-filter]"), setUp);
})();
