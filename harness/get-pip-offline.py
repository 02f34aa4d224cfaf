"""Stand-in for pip's get-pip.py bootstrap that ansible-test downloads (its host is not reachable here).

ansible-test runs this file inside a fresh venv created --without-pip, with get-pip's arguments
(package specs such as pip==24.2, plus --no-setuptools/--no-wheel). We install the pip wheel bundled
with Python (ensurepip), then let that pip install the requested packages from the package index.
harness/sanity.sh copies it to ~/.ansible/test/cache/get_pip_<version>.py when that file is missing.
"""

import subprocess
import sys

# Separate processes: ensurepip turns pip's configuration off in its own process (the CA bundle is set there).
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
