"""How the fake prints a stored customer: the three key orders of contract §3.2 and the computed fields."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# A subset of FluentCart's country list; any other value is echoed as sent, as FluentCart does.
COUNTRY_NAMES = {
    "AR": "Argentina",
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "CL": "Chile",
    "CN": "China",
    "CZ": "Czech Republic",
    "DE": "Germany",
    "DK": "Denmark",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom (UK)",
    "GR": "Greece",
    "HU": "Hungary",
    "IE": "Ireland",
    "IL": "Israel",
    "IN": "India",
    "IT": "Italy",
    "JP": "Japan",
    "KR": "South Korea",
    "MX": "Mexico",
    "NG": "Nigeria",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SG": "Singapore",
    "TR": "Turkey",
    "UA": "Ukraine",
    "US": "United States (US)",
    "ZA": "South Africa",
}

STATE_NAMES = {
    "NG": {
        "AB": "Abia",
        "FC": "Abuja",
        "AD": "Adamawa",
        "AK": "Akwa Ibom",
        "AN": "Anambra",
        "BA": "Bauchi",
        "BY": "Bayelsa",
        "BE": "Benue",
        "BO": "Borno",
        "CR": "Cross River",
        "DE": "Delta",
        "EB": "Ebonyi",
        "ED": "Edo",
        "EK": "Ekiti",
        "EN": "Enugu",
        "GO": "Gombe",
        "IM": "Imo",
        "JI": "Jigawa",
        "KD": "Kaduna",
        "KN": "Kano",
        "KT": "Katsina",
        "KE": "Kebbi",
        "KO": "Kogi",
        "KW": "Kwara",
        "LA": "Lagos",
        "NA": "Nasarawa",
        "NI": "Niger",
        "OG": "Ogun",
        "ON": "Ondo",
        "OS": "Osun",
        "OY": "Oyo",
        "PL": "Plateau",
        "RI": "Rivers",
        "SO": "Sokoto",
        "TA": "Taraba",
        "YO": "Yobe",
        "ZA": "Zamfara",
    },
    "US": {
        "AL": "Alabama",
        "AK": "Alaska",
        "AZ": "Arizona",
        "AR": "Arkansas",
        "CA": "California",
        "CO": "Colorado",
        "CT": "Connecticut",
        "DE": "Delaware",
        "DC": "District Of Columbia",
        "FL": "Florida",
        "GA": "Georgia",
        "HI": "Hawaii",
        "ID": "Idaho",
        "IL": "Illinois",
        "IN": "Indiana",
        "IA": "Iowa",
        "KS": "Kansas",
        "KY": "Kentucky",
        "LA": "Louisiana",
        "ME": "Maine",
        "MD": "Maryland",
        "MA": "Massachusetts",
        "MI": "Michigan",
        "MN": "Minnesota",
        "MS": "Mississippi",
        "MO": "Missouri",
        "MT": "Montana",
        "NE": "Nebraska",
        "NV": "Nevada",
        "NH": "New Hampshire",
        "NJ": "New Jersey",
        "NM": "New Mexico",
        "NY": "New York",
        "NC": "North Carolina",
        "ND": "North Dakota",
        "OH": "Ohio",
        "OK": "Oklahoma",
        "OR": "Oregon",
        "PA": "Pennsylvania",
        "RI": "Rhode Island",
        "SC": "South Carolina",
        "SD": "South Dakota",
        "TN": "Tennessee",
        "TX": "Texas",
        "UT": "Utah",
        "VT": "Vermont",
        "VA": "Virginia",
        "WA": "Washington",
        "WV": "West Virginia",
        "WI": "Wisconsin",
        "WY": "Wyoming",
    },
    "CA": {
        "AB": "Alberta",
        "BC": "British Columbia",
        "MB": "Manitoba",
        "NB": "New Brunswick",
        "NL": "Newfoundland and Labrador",
        "NS": "Nova Scotia",
        "ON": "Ontario",
        "PE": "Prince Edward Island",
        "QC": "Quebec",
        "SK": "Saskatchewan",
    },
}


# Without a country FluentCart still expands a state code, from every country's states at once, a later
# country code winning [live 1.5.2: "ON" became "Ondo", Nigeria's, not Canada's "Ontario"].
ANY_COUNTRY_STATE_NAMES = {code: name for country in sorted(STATE_NAMES) for code, name in STATE_NAMES[country].items()}


def state_name(country: str | None, state: str | None) -> str | None:
    """The ``state`` of ``formatted_address``: the state's name where the code is known, else as stored."""
    if not state:
        return state
    if not country:
        return ANY_COUNTRY_STATE_NAMES.get(state, state)
    return STATE_NAMES.get(country, {}).get(state, state)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def full_name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def photo_url(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}?s=100&#038;d=mm&#038;r=g"


def country_name(country: str | None) -> str:
    if not country:
        return ""
    return COUNTRY_NAMES.get(country, country)


def _computed(values: dict[str, Any], site_url: str) -> dict[str, Any]:
    """The trailing keys every shape shares: full_name, photo, country_name, formatted_address, user_link."""
    name = full_name(values.get("first_name"), values.get("last_name"))
    country = country_name(values.get("country"))
    state = state_name(values.get("country"), values.get("state"))
    user_id = values.get("user_id")
    return {
        "full_name": name,
        "photo": photo_url(values.get("email") or ""),
        "country_name": country,
        "formatted_address": {
            "country": country,
            "state": state,
            "city": values.get("city"),
            "postcode": values.get("postcode"),
            "first_name": values.get("first_name"),
            "last_name": values.get("last_name"),
            "full_name": name,
        },
        "user_link": f"{site_url}/wp-admin/user-edit.php?user_id={user_id}" if user_id else "",
    }


def stored_customer(row: dict[str, Any], site_url: str, *, labels: bool = True) -> dict[str, Any]:
    """A stored row as GET /customers/{id} prints it (labels=False: list items and PUT responses)."""
    shaped: dict[str, Any] = {
        "id": row["id"],
        "user_id": _text(row["user_id"]),
        "contact_id": _text(row["contact_id"]),
        "email": row["email"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "status": row["status"],
        "purchase_value": json.loads(row["purchase_value"] or "[]"),
        "purchase_count": _text(row["purchase_count"]),
        "ltv": _text(row["ltv"]),
        "first_purchase_date": row["first_purchase_date"],
        "last_purchase_date": row["last_purchase_date"],
        "aov": row["aov"],
        "notes": row["notes"],
        "uuid": row["uuid"],
        "country": row["country"],
        "city": row["city"],
        "state": row["state"],
        "postcode": row["postcode"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    if labels:
        shaped["selected_labels"] = []
    shaped.update(_computed(row, site_url))
    if labels:
        shaped["labels"] = []
    return shaped


def created_customer(values: dict[str, Any], row: dict[str, Any], site_url: str) -> dict[str, Any]:
    """The create response's `data`: the sent values (untruncated) plus the stored id, uuid and dates."""
    shown = dict(values, user_id=row["user_id"])
    shaped = {
        "email": shown["email"],
        "user_id": shown["user_id"],
        "first_name": shown["first_name"],
        "last_name": shown["last_name"],
        "status": shown["status"],
        "aov": shown["aov"],
        "notes": shown["notes"],
        "country": shown["country"],
        "city": shown["city"],
        "state": shown["state"],
        "postcode": shown["postcode"],
        "purchase_value": [],
        "uuid": row["uuid"],
        "updated_at": row["updated_at"],
        "created_at": row["created_at"],
        "id": row["id"],
    }
    shaped.update(_computed(shown, site_url))
    return shaped
