from django.shortcuts import render


def hello(request):
    return render(request, 'hello.html', {
        'method': request.method,
        'path': request.path,
        'name': request.GET.get('name', 'world'),
        'body_len': len(request.body),
    })
