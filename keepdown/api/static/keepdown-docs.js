// Starts Swagger UI on the API's reference page (keepdown/api/docs_pages.py).
// A file of its own, not an inline script, so the page works under script-src 'self'.
(function () {
  "use strict";
  var swagger = document.getElementById("swagger-ui");
  if (swagger && window.SwaggerUIBundle) {
    window.ui = window.SwaggerUIBundle({
      url: swagger.getAttribute("data-openapi"),
      dom_id: "#swagger-ui",
      deepLinking: true,
      layout: "BaseLayout",
      presets: [window.SwaggerUIBundle.presets.apis],
      showExtensions: true,
      validatorUrl: null, // never ask a validator elsewhere
    });
  }
})();
