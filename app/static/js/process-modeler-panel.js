/* The modeler's side panel (templates/process_admin/_panel.html): edits what our engine reads, through
   the bpmn-js modeling API so that every change can be undone and is exported with the diagram:
   - the process: its id (the process key) and name;
   - a lane: its name, which says the role(s) of its people (workflows/lanes.py);
   - a user task: name, documentation and its spiffworkflow:properties (workflows/steps.py): unit, roles,
     task_state, form, due, due_calendar; and the form's JSON Schema (kept in tiendoModeler.forms, posted
     with the draft), previewed by the server through the partial that renders real step forms.
   The server stays the judge: it checks everything again when the draft is saved or deployed. */
(function () {
  "use strict";

  var api = window.tiendoModeler;
  var root = document.getElementById("modeler");
  var panel = document.getElementById("modeler-panel");
  if (!api || !panel) {
    return;
  }
  var KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
  var DURATION = /^P(?:\d+W)?(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?)?$/;
  var modeler = api.modeler;
  var modeling = modeler.get("modeling");
  var moddle = modeler.get("moddle");
  var readProperties = api.readProperties;
  var writeProperty = api.writeProperty;
  var canvas = modeler.get("canvas");
  var registry = modeler.get("elementRegistry");
  var current = null;
  var refreshing = false; // filling the panel again after a change of the element: no new preview

  function $(id) {
    return document.getElementById(id);
  }

  function message(name) {
    return root.getAttribute("data-msg-" + name) || "";
  }

  function is(element, type) {
    var bo = element && (element.businessObject || element);
    return !!(bo && bo.$instanceOf && bo.$instanceOf(type));
  }

  function show(kind) {
    Array.prototype.forEach.call(panel.querySelectorAll("[data-section]"), function (section) {
      section.hidden = section.getAttribute("data-section") !== kind;
    });
    panel.setAttribute("data-panel", kind);
  }

  /* --- the process ------------------------------------------------------------------------------- */

  function theProcess() {
    var rootElement = canvas.getRootElement();
    var bo = rootElement.businessObject;
    if (is(bo, "bpmn:Collaboration")) {
      var participant = (bo.participants || []).filter(function (p) {
        return p.processRef;
      })[0];
      return participant
        ? { root: rootElement, bo: participant.processRef, participant: registry.get(participant.id) }
        : null;
    }
    return { root: rootElement, bo: bo, participant: null };
  }

  function fillProcess() {
    var process = theProcess();
    $("process-key").value = process ? process.bo.id : "";
    $("process-name").value = process ? process.bo.name || "" : "";
    $("process-key").classList.remove("is-invalid");
  }

  $("process-key").addEventListener("change", function () {
    var process = theProcess();
    var value = this.value.trim();
    if (!process) {
      return;
    }
    var taken = value !== process.bo.id && moddle.ids && moddle.ids.assigned(value);
    if (!KEY.test(value) || value.length > 100 || taken) {
      this.classList.add("is-invalid");
      $("process-key-error").textContent = message("bad-key");
      return;
    }
    this.classList.remove("is-invalid");
    if (value !== process.bo.id) {
      modeling.updateModdleProperties(process.root, process.bo, { id: value });
    }
  });

  $("process-name").addEventListener("change", function () {
    var process = theProcess();
    if (!process) {
      return;
    }
    modeling.updateModdleProperties(process.root, process.bo, { name: this.value });
    if (process.participant) {
      modeling.updateProperties(process.participant, { name: this.value });
    }
  });

  /* --- a lane -------------------------------------------------------------------------------- */

  function fillLane(element) {
    var select = $("lane-name");
    var name = element.businessObject.name || "";
    var known = Array.prototype.some.call(select.options, function (option) {
      return option.value === name;
    });
    Array.prototype.forEach.call(select.querySelectorAll("option[data-unknown]"), function (option) {
      option.remove();
    });
    if (!known) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name + " (?)";
      option.setAttribute("data-unknown", "1");
      select.insertBefore(option, select.firstChild);
    }
    select.value = name;
    var chosen = select.options[select.selectedIndex];
    $("lane-roles").textContent = (chosen && chosen.getAttribute("data-roles")) || "";
  }

  $("lane-name").addEventListener("change", function () {
    if (current && is(current, "bpmn:Lane")) {
      modeling.updateProperties(current, { name: this.value });
    }
  });

  /* --- a user task ------------------------------------------------------------------------------- */

  function laneOf(element) {
    var lane = registry.filter(function (candidate) {
      var refs = is(candidate, "bpmn:Lane") && candidate.businessObject.flowNodeRef;
      return refs && refs.indexOf(element.businessObject) >= 0;
    })[0];
    return lane ? lane.businessObject.name || "" : "";
  }

  function formKey(element) {
    return readProperties(element.businessObject).form || element.businessObject.id;
  }

  function fillTask(element) {
    var bo = element.businessObject;
    var props = readProperties(bo);
    $("task-id").textContent = bo.id;
    $("task-name").value = bo.name || "";
    $("task-unit").value = props.unit || "lead";
    var roles = (props.roles || "").split(",").map(function (role) {
      return role.trim();
    });
    Array.prototype.forEach.call(panel.querySelectorAll("input[name=task-role]"), function (box) {
      box.checked = roles.indexOf(box.value) >= 0;
    });
    var laneOption = Array.prototype.filter.call($("lane-name").options, function (option) {
      return option.value === laneOf(element);
    })[0];
    $("task-lane-roles").textContent = laneOption ? "(" + laneOption.getAttribute("data-roles") + ")" : "";
    $("task-state").value = props.task_state || "";
    $("task-due").value = props.due || "";
    markDue(props.due || "");
    $("task-due-calendar").value = props.due_calendar === "working" ? "working" : "";
    var docs = bo.documentation || [];
    $("task-documentation").value = docs.length ? docs[0].text || "" : "";
    $("task-form-key").value = props.form || "";
    $("task-form-key").placeholder = bo.id;
    fillForm(element);
  }

  function fillForm(element) {
    var key = formKey(element);
    var text = api.forms[key];
    $("task-form").value = text || "";
    $("task-form").setAttribute("data-form-key", key);
    formStatus(element, text);
    if (!refreshing) {
      preview();
    }
  }

  function formStatus(element, text) {
    var usesDefault = !readProperties(element.businessObject).form;
    $("task-form-status").textContent = text ? "" : message(usesDefault ? "default-form" : "no-form");
  }

  function onTask(handler) {
    return function () {
      if (current && is(current, "bpmn:UserTask")) {
        handler.call(this, current);
      }
    };
  }

  $("task-name").addEventListener("change", onTask(function (element) {
    modeling.updateLabel(element, this.value);
  }));
  $("task-unit").addEventListener("change", onTask(function (element) {
    writeProperty(element, "unit", this.value);
  }));
  $("task-roles").addEventListener("change", onTask(function (element) {
    var checked = Array.prototype.filter.call(panel.querySelectorAll("input[name=task-role]"), function (box) {
      return box.checked;
    }).map(function (box) {
      return box.value;
    });
    writeProperty(element, "roles", checked.join(","));
  }));
  $("task-state").addEventListener("change", onTask(function (element) {
    writeProperty(element, "task_state", this.value);
  }));
  function markDue(value) {
    var valid = !value || (DURATION.test(value) && value !== "P" && value !== "PT");
    $("task-due").classList.toggle("is-invalid", !valid);
    $("task-due-error").textContent = valid ? "" : message("bad-due");
  }

  $("task-due").addEventListener("change", onTask(function (element) {
    var value = this.value.trim().toUpperCase();
    markDue(value);
    writeProperty(element, "due", value); // the server says so too, with the element, on save
  }));
  $("task-due-calendar").addEventListener("change", onTask(function (element) {
    writeProperty(element, "due_calendar", this.value);
  }));
  $("task-documentation").addEventListener("change", onTask(function (element) {
    var text = this.value.trim();
    var docs = text ? [moddle.create("bpmn:Documentation", { text: text })] : [];
    modeling.updateProperties(element, { documentation: docs });
  }));
  $("task-form-key").addEventListener("change", onTask(function (element) {
    var value = this.value.trim();
    var oldKey = formKey(element);
    var newKey = value || element.businessObject.id;
    if (newKey !== oldKey && api.forms[oldKey] && !api.forms[newKey]) {
      api.forms[newKey] = api.forms[oldKey]; // the schema follows its new key
    }
    writeProperty(element, "form", value);
    api.markDirty();
    fillForm(element);
  }));

  var previewTimer = null;
  var previewSerial = 0;
  $("task-form").addEventListener("input", onTask(function (element) {
    var key = formKey(element);
    if (this.value.trim()) {
      api.forms[key] = this.value;
    } else {
      delete api.forms[key];
    }
    formStatus(element, this.value.trim());
    api.markDirty();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 400);
  }));

  function preview() {
    var target = $("form-preview");
    var element = current;
    if (!element || !is(element, "bpmn:UserTask")) {
      return;
    }
    var text = $("task-form").value;
    var body = new URLSearchParams();
    body.set("schema", text);
    if (!text.trim() && !readProperties(element.businessObject).form) {
      body.set("default", "1");
    }
    var serial = ++previewSerial;
    target.setAttribute("data-preview-state", "loading");
    fetch(root.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": document.querySelector("meta[name=csrf-token]").getAttribute("content"),
        Accept: "text/html"
      },
      body: body
    })
      .then(function (response) {
        return response.text().then(function (html) {
          return { ok: response.ok, html: html };
        });
      })
      .then(function (result) {
        if (serial !== previewSerial) {
          return; // a newer preview is on its way
        }
        target.innerHTML = result.html; // our server's template, every value escaped there
        target.setAttribute("data-preview-state", result.ok ? "ok" : "invalid");
      })
      .catch(function () {
        target.setAttribute("data-preview-state", "error");
      });
  }

  /* --- anything else ------------------------------------------------------------------------------ */

  function fillOther(element) {
    $("other-type").textContent = element.type.replace("bpmn:", "");
    $("other-id").textContent = element.businessObject.id;
    $("other-name").value = element.businessObject.name || "";
  }

  $("other-name").addEventListener("change", function () {
    if (current && current.type !== "label") {
      modeling.updateLabel(current, this.value);
    }
  });

  /* --- selection ---------------------------------------------------------------------------------- */

  function select(element) {
    current = element || null;
    if (!element || is(element, "bpmn:Process") || is(element, "bpmn:Collaboration") || is(element, "bpmn:Participant")) {
      current = null;
      fillProcess();
      show("process");
    } else if (is(element, "bpmn:Lane")) {
      fillLane(element);
      show("lane");
    } else if (is(element, "bpmn:UserTask")) {
      fillTask(element);
      show("task");
    } else {
      fillOther(element);
      show("other");
    }
  }

  modeler.on("selection.changed", function (event) {
    var chosen = event.newSelection.length === 1 ? event.newSelection[0] : null;
    select(chosen && chosen.type === "label" ? chosen.labelTarget : chosen);
  });

  modeler.on("elements.changed", function (event) {
    if (!current) {
      fillProcess();
      return;
    }
    if (event.elements.indexOf(current) >= 0 && document.activeElement !== $("task-form")) {
      refreshing = true;
      select(current);
      refreshing = false;
    }
  });

  api.ready.then(function (shown) {
    if (shown) {
      select(null);
      root.setAttribute("data-modeler-state", "ready");
    }
  });
})();
