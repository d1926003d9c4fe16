from helpline import create_app

app = create_app()
