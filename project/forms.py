from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from fluentcart_sync.forms import FirstErrorCharField, remove_browser_limit
from fluentcart_sync.models import Customer
from fluentcart_sync.names import fit_name
from fluentcart_sync.validation import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    normalise_text,
    split_full_name,
    validate_plain_text,
    validate_wordpress_email,
)


class SignupForm(UserCreationForm):
    """Django's user-creation form (password1/password2) plus an email and a full name.

    The email is the login name, so it must be unique ignoring case among users and customers.
    """

    # The email doubles as the username, which Django's user model caps at 150 characters.
    # WordPress's stricter rule runs in clean_email, only once Django's own check passed: an invalid
    # address gets one error, not two.
    # No maxlength attributes (a browser cuts a pasted value silently): the limits are in the help text,
    # and a value over one is refused with one error on its field.
    email = forms.EmailField(label=_("Email"), max_length=min(EMAIL_MAX_LENGTH, 150),
                             help_text=_("You sign in with it. At most 150 characters."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))
    full_name = FirstErrorCharField(label=_("Full name"), max_length=NAME_MAX_LENGTH,
                                    validators=[validate_plain_text],
                                    help_text=_("At most 192 characters (fewer in scripts such as Chinese or"
                                                " Arabic, whose letters count 2 to 4 bytes of 255); no “<”."),
                                    widget=forms.TextInput(attrs={"autocomplete": "name"}))

    class Meta:
        model = get_user_model()
        fields = ("email", "full_name")

    field_order = ("email", "full_name", "password1", "password2")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The password rules up front, not only once they fail.
        self.fields["password1"].help_text = password_validation.password_validators_help_text_html()
        remove_browser_limit(self.fields["email"])

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        validate_wordpress_email(email)
        User = get_user_model()
        if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username__iexact=email).exists():
            raise forms.ValidationError(_("An account with this email already exists."), code="duplicate_email")
        if Customer.objects.with_email(email).filter(user__isnull=False).exists():
            raise forms.ValidationError(_("An account with this email already exists."), code="duplicate_email")
        return email

    def clean_full_name(self) -> str:
        return normalise_text(self.cleaned_data["full_name"])

    def validate_password_for_user(self, user, password_field_name="password1"):
        """The password rules' errors go under the password, not its confirmation (Django's default);
        when the two differ, only the mismatch is reported."""
        if "password2" in self.cleaned_data:
            super().validate_password_for_user(user, password_field_name="password1")

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        user.username = self.cleaned_data["email"]
        user.email = self.cleaned_data["email"]
        first_name, last_name = split_full_name(self.cleaned_data["full_name"])
        # The user model's name columns are shorter (150) than a customer's full name (192).
        User = type(user)
        user.first_name = fit_name(first_name, User._meta.get_field("first_name").max_length, max_bytes=None)
        user.last_name = fit_name(last_name, User._meta.get_field("last_name").max_length, max_bytes=None)
        if commit:
            user.save()  # the post_save receiver creates and queues the Customer
        return user
