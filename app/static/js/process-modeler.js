/* The admin's process modeler: bpmn-js (the Modeler bundle, window.BpmnJS) edits the diagram in
   #modeler-source; "Save draft" posts the exported XML and the forms (static/js/process-modeler-panel.js
   edits both) to the server, which checks them and lists every problem. Problems come back in
   data-problems: each element with one gets a marker (class modeler-problem) and a "!" overlay.
   Exposes window.tiendoModeler = {modeler, forms, ready, markDirty, isDirty, say, readProperties,
   writeProperty} for the panel (and tests); `ready` is the promise of the import, true once the diagram
   is shown. */
(function () {
  "use strict";

  var root = document.getElementById("modeler");
  if (!root) {
    return;
  }
  var SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  var box = document.getElementById("modeler-canvas");
  var status = document.getElementById("modeler-status");
  var source = document.getElementById("modeler-source");

  function message(name) {
    return root.getAttribute("data-msg-" + name) || "";
  }

  function parsed(name, fallback) {
    try {
      return JSON.parse(root.getAttribute("data-" + name) || "null") || fallback;
    } catch (error) {
      return fallback;
    }
  }

  function say(text, kind) {
    status.textContent = text || "";
    status.className = "small mb-2" + (kind ? " text-" + kind : "");
  }

  if (typeof window.BpmnJS === "undefined" || !source) {
    root.setAttribute("data-modeler-state", "error");
    say(message("error"), "danger");
    return;
  }

  var modeler = new window.BpmnJS({ container: box });
  var state = { dirty: false };
  var api = {
    modeler: modeler,
    forms: parsed("forms", {}),
    problems: parsed("problems", []),
    say: say,
    markDirty: function () {
      state.dirty = true;
    },
    isDirty: function () {
      return state.dirty;
    }
  };
  window.tiendoModeler = api;

  modeler.on("commandStack.changed", api.markDirty);

  /* --- spiffworkflow:properties (workflows/steps.py), read and written as generic moddle elements:
     no moddle extension is registered, so every other vendor element round-trips untouched ---- */

  function isSpiff(node, localName) {
    var ns = node && node.$descriptor && node.$descriptor.ns;
    return !!(ns && ns.uri === SPIFF_NS && ns.localName === localName);
  }

  function spiffPrefix() {
    var attrs = modeler.getDefinitions().$attrs || {};
    var found = Object.keys(attrs).filter(function (name) {
      return name.indexOf("xmlns:") === 0 && attrs[name] === SPIFF_NS;
    })[0];
    if (found) {
      return found.slice(6);
    }
    attrs["xmlns:spiffworkflow"] = SPIFF_NS; // so that the export declares it
    return "spiffworkflow";
  }

  function propertiesNode(bo) {
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    return values.filter(function (value) {
      return isSpiff(value, "properties");
    })[0] || null;
  }

  function readProperties(bo) {
    var node = propertiesNode(bo);
    var result = {};
    ((node && node.$children) || []).forEach(function (child) {
      if (isSpiff(child, "property") && child.name) {
        result[child.name] = child.value || "";
      }
    });
    return result;
  }

  function writeProperty(element, name, value) {
    var moddle = modeler.get("moddle");
    var bo = element.businessObject;
    var old = propertiesNode(bo);
    var prefix = spiffPrefix();
    var children = [];
    var found = false;
    ((old && old.$children) || []).forEach(function (child) {
      if (isSpiff(child, "property") && child.name === name) {
        found = true;
        if (value) {
          children.push(moddle.createAny(prefix + ":property", SPIFF_NS, { name: name, value: value }));
        }
      } else {
        children.push(child);
      }
    });
    if (!found && value) {
      children.push(moddle.createAny(prefix + ":property", SPIFF_NS, { name: name, value: value }));
    }
    var values = ((bo.extensionElements && bo.extensionElements.values) || []).slice();
    var at = values.indexOf(old);
    var replacement = null;
    if (children.length) {
      replacement = moddle.createAny(prefix + ":properties", SPIFF_NS, {});
      replacement.$children = children;
    }
    if (at >= 0) {
      values.splice(at, 1);
    } else {
      at = values.length;
    }
    if (replacement) {
      values.splice(at, 0, replacement);
    }
    var extensionElements = values.length ? moddle.create("bpmn:ExtensionElements", { values: values }) : undefined;
    modeler.get("modeling").updateProperties(element, { extensionElements: extensionElements });
  }

  api.readProperties = readProperties;
  api.writeProperty = writeProperty;


  /* --- layout bpmn-js does not draw (a called process drawn inside an expanded call activity, an
     edge naming no element): on export bpmn-js rebuilds each shown plane from its canvas and would
     drop it; it is put back, so that saving keeps the diagram of a file drawn elsewhere ----------- */

  var undrawnDi = [];

  function rememberUndrawnDi() {
    var drawn = modeler.get("elementRegistry").getAll().map(function (element) {
      return element.di;
    });
    undrawnDi = [];
    modeler.get("canvas").getRootElements().forEach(function (rootElement) {
      var plane = rootElement.di;
      ((plane && plane.planeElement) || []).forEach(function (di) {
        if (drawn.indexOf(di) < 0) {
          undrawnDi.push({ plane: plane, di: di });
        }
      });
    });
  }

  modeler.on("saveXML.start", 1000, function () { // after bpmn-js's own DI ordering (priority 2000)
    undrawnDi.forEach(function (entry) {
      var elements = entry.plane.get("planeElement");
      if (elements.indexOf(entry.di) < 0) {
        elements.push(entry.di);
      }
    });
  });

  /* --- problems: a marker and an overlay on each element named by one ------------------------- */

  function shapeFor(elementId) {
    var registry = modeler.get("elementRegistry");
    var element = registry.get(elementId);
    if (element && element.type !== "bpmn:Process") {
      return element;
    }
    // a problem of the process itself: mark the pool (participant) that shows it
    return registry.filter(function (candidate) {
      var bo = candidate.businessObject;
      return bo && bo.processRef && bo.processRef.id === elementId;
    })[0] || null;
  }

  function showProblems() {
    var canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays");
    var reasons = {};
    api.problems.forEach(function (problem) {
      if (problem.element_id) {
        (reasons[problem.element_id] = reasons[problem.element_id] || []).push(problem.reason);
      }
    });
    Object.keys(reasons).forEach(function (elementId) {
      var element = shapeFor(elementId);
      if (!element) {
        return;
      }
      canvas.addMarker(element, "modeler-problem");
      var badge = document.createElement("span");
      badge.className = "modeler-problem-badge";
      badge.textContent = "!";
      badge.title = reasons[elementId].join("\n");
      badge.setAttribute("data-problem-for", elementId);
      badge.setAttribute("role", "img");
      badge.setAttribute("aria-label", message("problem") + " " + reasons[elementId].join("; "));
      overlays.add(element, "problem", { position: { top: -10, right: 10 }, html: badge });
    });
  }

  function reveal(elementId) {
    var element = shapeFor(elementId);
    if (!element) {
      return;
    }
    modeler.get("selection").select(element);
    modeler.get("canvas").scrollToElement(element);
  }

  Array.prototype.forEach.call(document.querySelectorAll(".problem-element"), function (button) {
    button.addEventListener("click", function () {
      reveal(button.getAttribute("data-element-id"));
      box.scrollIntoView({ block: "nearest" });
    });
  });

  /* --- saving, deploying, uploading ------------------------------------------------------------ */

  var saveForm = document.getElementById("save-form");
  saveForm.addEventListener("submit", function (event) {
    event.preventDefault();
    say(message("saving"));
    modeler
      .saveXML({ format: true })
      .then(function (result) {
        document.getElementById("save-xml").value = result.xml;
        document.getElementById("save-forms").value = JSON.stringify(api.forms);
        state.dirty = false;
        saveForm.submit();
      })
      .catch(function (error) {
        say(message("import-error") + " " + error.message, "danger");
      });
  });

  ["deploy-form", "upload-form"].forEach(function (id) {
    var form = document.getElementById(id);
    if (form) {
      form.addEventListener("submit", function (event) {
        if (state.dirty) {
          event.preventDefault();
          say(message("unsaved"), "danger");
        }
      });
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (state.dirty) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  /* --- opening the document -------------------------------------------------------------------- */

  api.ready = modeler
    .importXML(source.value)
    .then(function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      rememberUndrawnDi();
      showProblems();
      state.dirty = false;
      say(message("ready"));
      return true;
    })
    .catch(function (error) {
      root.setAttribute("data-modeler-state", "error");
      say(message("import-error") + " " + error.message, "danger");
      return false;
    });
  // data-modeler-state="ready" is set by the panel (process-modeler-panel.js) once it has filled itself
})();
