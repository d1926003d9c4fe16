/* Runs first thing in <body>: GOV.UK Frontend styles hang off these classes. */
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
