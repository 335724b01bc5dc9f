from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from .forms import SignupForm


@require_http_methods(["GET", "POST"])
def signup(request):
    """Create the account and log in; the customer is created and synced by the app's receivers."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("signup-done")
    return render(request, "signup.html", {"form": form})


@login_required(login_url="signup")
def signup_done(request):
    customer = getattr(request.user, "fluentcart_customer", None)
    return render(request, "signup_done.html", {"customer": customer})
