// Mandate's only script: ask before destructive actions.
// Forms marked data-confirm="question" submit only after the user agrees.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
