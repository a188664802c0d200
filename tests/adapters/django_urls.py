"""Views and URLs for the Django engine's tests (the ROOT_URLCONF set in conftest.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from sessionkit.adapters.django import SessionStore


def home(request: HttpRequest) -> HttpResponse:
    request.session["views"] = request.session.get("views", 0) + 1
    return HttpResponse(str(request.session["views"]))


def login(request: HttpRequest) -> HttpResponse:
    request.session.cycle_key()
    request.session["user"] = "ann"
    return HttpResponse("in")


def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponse("out")


def slow_write(request: HttpRequest) -> HttpResponse:
    """Reads the session, which a concurrent logout then deletes, and writes it."""
    request.session.get("views")
    SessionStore().delete(request.session.session_key)
    request.session["late"] = True
    return HttpResponse("written")


def negotiated(request: HttpRequest) -> HttpResponse:
    """Reads the session into a response that already varies on another header."""
    response = HttpResponse(str(request.session.get("views")))
    response["Vary"] = "Accept-Encoding"
    return response


urlpatterns = [
    path("", home),
    path("login", login),
    path("logout", logout),
    path("slow-write", slow_write),
    path("negotiated", negotiated),
]
