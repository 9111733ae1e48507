// Draws every figure the server placed on the page (a [data-figure] element
// naming the json_script block that holds it), and again whenever htmx swaps
// in new ones: the ledger's poll and the range switch replace them in place.
//
// The charts over time inside a [data-time-window] block zoom together: zoom
// one and the page's others show the same window, and the address gets it as
// ?from=…&to=… (UTC), which the server reads, so a link shows the same window.
// A double click goes back.
// A point whose customdata is a path (a stage of the flow chart) opens it.
// A figure may carry a variant for a narrow chart ("narrow", drawn below
// "below_px" wide): the server cannot know how wide the chart will be.
(function () {
  "use strict";

  var zoomed = null; // [start, end] as Plotly writes dates, while zoomed
  var addressBeforeZoom = null;
  var syncing = false;

  function isTimeChart(element) {
    var axis = element.layout && element.layout.xaxis;
    return Boolean(axis && axis.type === "date" && element.closest("[data-time-window]"));
  }

  function timeCharts() {
    return Array.prototype.filter.call(
      document.querySelectorAll("[data-time-window] [data-figure]"),
      function (element) {
        return element.classList.contains("js-plotly-plot") && isTimeChart(element);
      }
    );
  }

  // Plotly's dates ("2026-12-06 10:03:27.512") as the query string has them.
  function queryTime(value) {
    return String(value).replace(" ", "T").replace(/\.\d*$/, "").slice(0, 19);
  }

  function remember(range) {
    var url = new URL(window.location.href);
    if (range) {
      if (addressBeforeZoom === null) {
        addressBeforeZoom = window.location.href;
      }
      url.searchParams.delete("range");
      url.searchParams.set("from", queryTime(range[0]));
      url.searchParams.set("to", queryTime(range[1]));
      window.history.replaceState(window.history.state, "", url);
    } else if (addressBeforeZoom !== null) {
      window.history.replaceState(window.history.state, "", addressBeforeZoom);
      addressBeforeZoom = null;
    }
  }

  function follow(source, range) {
    syncing = true;
    var moves = timeCharts()
      .filter(function (element) {
        return element !== source;
      })
      .map(function (element) {
        var update = range
          ? { "xaxis.range": range.slice(), "xaxis.autorange": false }
          : serverRange(element);
        return Plotly.relayout(element, update);
      });
    if (!range && source) {
      moves.push(Plotly.relayout(source, serverRange(source)));
    }
    Promise.all(moves).finally(function () {
      syncing = false;
    });
  }

  // The window the server drew a chart with (an explicit range, or its data's).
  function serverRange(element) {
    var range = element.dataset.serverRange;
    return range
      ? { "xaxis.range": JSON.parse(range), "xaxis.autorange": false }
      : { "xaxis.autorange": true };
  }

  function onRelayout(element, event) {
    if (syncing || !isTimeChart(element)) {
      return;
    }
    var range = null;
    if (event["xaxis.range[0]"] !== undefined && event["xaxis.range[1]"] !== undefined) {
      range = [event["xaxis.range[0]"], event["xaxis.range[1]"]];
    } else if (Array.isArray(event["xaxis.range"])) {
      range = event["xaxis.range"].slice();
    } else if (!event["xaxis.autorange"]) {
      return; // not a change of time (a legend click, a resize)
    }
    // A double click resets a chart drawn with a range to that range: back.
    if (range && element.dataset.serverRange === JSON.stringify(range)) {
      range = null;
    }
    zoomed = range;
    follow(element, range);
    remember(range);
  }

  function onClick(event) {
    var point = event.points && event.points[0];
    var target = point && point.customdata;
    if (typeof target === "string" && target.charAt(0) === "/") {
      window.location.assign(target);
    }
  }

  function isNarrow(figure, element) {
    return Boolean(figure.narrow) && element.clientWidth < figure.narrow.below_px;
  }

  function draw(element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    if (figure.narrow) {
      element.dataset.narrow = String(isNarrow(figure, element));
      figure = isNarrow(figure, element) ? figure.narrow : figure;
    }
    var axis = figure.layout.xaxis;
    if (axis && axis.type === "date" && element.closest("[data-time-window]")) {
      if (axis.range) {
        element.dataset.serverRange = JSON.stringify(axis.range);
      }
      // A refresh (the series' poll) keeps the window someone zoomed to.
      if (zoomed) {
        axis.range = zoomed.slice();
        axis.autorange = false;
      }
    }
    Plotly.react(element, figure.data, figure.layout, figure.config).then(function () {
      if (element.dataset.listening) {
        return;
      }
      element.dataset.listening = "true";
      element.on("plotly_relayout", function (event) {
        onRelayout(element, event);
      });
      element.on("plotly_click", onClick);
    });
  }

  // Choosing a range (a tab that swaps the series in) ends the zoom.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.hasAttribute("hx-replace-url")) {
      zoomed = null;
      addressBeforeZoom = null;
    }
  });

  // A window that grows or shrinks past a variant's width (a phone turned on
  // its side) gets the other one.
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      document.querySelectorAll("[data-figure][data-narrow]").forEach(function (element) {
        var source = document.getElementById(element.dataset.figure);
        var figure = source && JSON.parse(source.textContent);
        if (figure && String(isNarrow(figure, element)) !== element.dataset.narrow) {
          draw(element);
        }
      });
    }, 200);
  });

  htmx.onLoad(function (root) {
    if (root.matches && root.matches("[data-figure]")) {
      draw(root);
    }
    root.querySelectorAll("[data-figure]").forEach(draw);
  });
})();
