from django import forms


class SignInForm(forms.Form):
    # Labels without a suffix: "Username" and "Password" are the accessible names that the
    # browser tests and assistive technology rely on (PROTOCOL.md §7).
    label_suffix = ""

    username = forms.CharField(
        label="Username",
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
