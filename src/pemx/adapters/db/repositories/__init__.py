"""One repository per aggregate, each implementing its protocol in service/ports/repositories.py."""
