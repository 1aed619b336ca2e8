"""WSGI entry point: uwsgi --chdir tests/peers/djangoapp --module hellosite.wsgi:application"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'hellosite.settings')

application = get_wsgi_application()
