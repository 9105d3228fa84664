/* The task page's process diagram: bpmn-js draws the definition's BPMN, then the steps the process
   completed, the step(s) it waits in and the flows it took get marker classes (css/dashboard.css).
   Data: GET the URL in data-diagram-url -> {xml, status, completed, current, flows}. */
(function () {
  "use strict";

  var box = document.getElementById("task-diagram-canvas");
  if (!box) {
    return;
  }
  var status = document.getElementById("task-diagram-status");

  function say(text) {
    if (status) {
      status.textContent = text || "";
    }
  }

  function fail() {
    box.setAttribute("data-diagram-state", "error");
    say(box.getAttribute("data-msg-error"));
  }

  if (typeof window.BpmnJS === "undefined" || typeof window.fetch === "undefined") {
    fail();
    return;
  }

  function mark(viewer, ids, className) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var names = [];
    (ids || []).forEach(function (id) {
      var element = registry.get(id);
      if (element) {
        canvas.addMarker(id, className);
        names.push((element.businessObject && element.businessObject.name) || id);
      }
    });
    return names;
  }

  fetch(box.getAttribute("data-diagram-url"), {
    credentials: "same-origin",
    headers: { Accept: "application/json" }
  })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    })
    .then(function (data) {
      var viewer = new window.BpmnJS({ container: box });
      return viewer.importXML(data.xml).then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        mark(viewer, data.completed, "diagram-completed");
        mark(viewer, data.flows, "diagram-flow");
        var current = mark(viewer, data.current, "diagram-current");
        box.setAttribute("data-diagram-state", "ready");
        if (current.length) {
          say(box.getAttribute("data-msg-current") + " " + current.join("; "));
        } else if (data.status === "completed") {
          say(box.getAttribute("data-msg-finished"));
        } else if (!data.status) {
          say(box.getAttribute("data-msg-none"));
        } else {
          say("");
        }
      });
    })
    .catch(fail);
})();
