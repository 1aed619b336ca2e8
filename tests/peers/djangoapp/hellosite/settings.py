"""Minimal Django settings for the uWSGI peer test (tests/peers.rs): no database, no apps."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = 'uwsgi-codec-peer-test-not-a-secret'
DEBUG = False
ALLOWED_HOSTS = ['*']

INSTALLED_APPS = []
MIDDLEWARE = []
ROOT_URLCONF = 'hellosite.urls'
WSGI_APPLICATION = 'hellosite.wsgi.application'

TEMPLATES = [
    {
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        'DIRS': [BASE_DIR / 'templates'],
        'APP_DIRS': False,
        'OPTIONS': {},
    },
]

DATABASES = {}
USE_TZ = True
USE_I18N = False
DEFAULT_CHARSET = 'utf-8'
