# One entry point for people and CI. `make test` sets up everything itself and runs the whole suite.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
# The test harness's cache: $HOSTREACH_CACHE, else /var/cache/hostreach-kind (harness/lib.sh). make expose/teardown/doctor
# use the user's own cache instead (scripts/runtime.sh).
# The collection as Ansible and Python find it: .build/collections/ansible_collections/hostreach/kind -> .
COLLECTIONS := $(CURDIR)/.build/collections
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
VENV = $(shell harness/setup-venv.sh)
RUN = PATH="$(VENV)/bin:$$PATH"

.DEFAULT_GOAL := test
.PHONY: expose teardown doctor watch test setup link lint sanity unit integration molecule demo build doc clean k8s-build engine-build tier1-up tier1-down kind-image kind-up kind-down bench bench-smoke

# The main job, as the user, from this checkout: a small runtime venv in the user's cache (scripts/runtime.sh), then the
# playbook. EXPOSE_ARGS are ansible-playbook's arguments (make expose EXPOSE_ARGS="-e hostreach_kind_cluster=dev").
expose: ## expose every Service of the kind cluster (ansible-playbook hostreach.kind.expose)
	scripts/runtime.sh expose $(EXPOSE_ARGS)

teardown: ## undo what expose did
	scripts/runtime.sh teardown $(EXPOSE_ARGS)

doctor: ## read-only: every link of the chain, ok or broken and the fix
	scripts/runtime.sh doctor $(EXPOSE_ARGS)

watch: ## expose, then keep every cluster reachable as the machine changes, in the foreground (Ctrl-C ends it)
	scripts/runtime.sh watch $(EXPOSE_ARGS)

# The kind cluster hostreach-test is made once for integration and bench-smoke (pytest uses a running cluster and leaves
# it; the benchmarks do too), and deleted after them: one cluster made and deleted, not two.
test: setup lint sanity unit k8s-build ## everything CI runs
	$(MAKE) --no-print-directory kind-up >/dev/null
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory bench-smoke BENCH_KIND=hostreach-test
	$(MAKE) --no-print-directory kind-down
	$(MAKE) --no-print-directory molecule

setup: ## Debian packages, Docker engine, venv
	harness/setup-host.sh
	harness/setup-venv.sh >/dev/null
	$(MAKE) --no-print-directory link

link:
	mkdir -p $(COLLECTIONS)/ansible_collections/hostreach
	ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/hostreach/kind

lint: link
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	# ansible-lint copies the collection into $$HOME/.ansible/collections and puts that copy first on
	# the collections path; a scratch HOME keeps a stale copy from shadowing the working tree.
	rm -rf .build/lint-home && mkdir -p .build/lint-home
	HOME=$(CURDIR)/.build/lint-home $(RUN) ansible-lint --profile production
	# every shell script of the runtime, the harness and the test doubles, found by its #! line
	shellcheck -x $$(grep -rlE '^#!(/usr)?/bin/(env )?(ba)?sh' scripts harness tests/doubles)

sanity:
	harness/sanity.sh

unit: link
	$(RUN) python -m pytest tests/unit

integration: link k8s-build engine-build
	# --durations: where the time goes; the JUnit file keeps every test's printed output (the doctor's tables, timings)
	$(RUN) python -m pytest tests/integration --durations=25 --junitxml=.build/integration-junit.xml -o junit_logging=system-out

k8s-build: ## Kubernetes, etcd, kind, pause from the Go module proxy (cached by version)
	harness/k8s-build.sh

engine-build: ## Docker Engine 29 (dockerd, docker-proxy, runc) from the Go module proxy (cached by version)
	harness/engine-build.sh >/dev/null

tier1-up: ## control plane as local processes; prints the kubeconfig path
	harness/tier1.sh up

tier1-down:
	harness/tier1.sh down

kind-image: ## kind node image hostreach/kind-node:<k8s version>, built locally (no pull)
	harness/kind-node-image.sh build

kind-up: ## kind cluster hostreach-test; prints the kubeconfig path
	harness/kind.sh up

kind-down:
	harness/kind.sh down

molecule: link ## Molecule scenarios (extensions/molecule): macos_sim (SIMULATION, brew double), default (real kind)
	$(RUN) molecule test -s macos_sim
	$(RUN) molecule test -s default

demo: setup ## the main job on a fresh machine: kind cluster hostreach-demo with a demo app, exposed; prints the URLs
	$(RUN) ansible-playbook harness/demo.yml -e hostreach_kind_cluster=hostreach-demo
	$(RUN) ansible-playbook hostreach.kind.expose -e hostreach_kind_cluster=hostreach-demo \
	  -e hostreach_kind_kubeconfig=$${HOSTREACH_CACHE:-/var/cache/hostreach-kind}/run/kind-hostreach-demo/kubeconfig

# Benchmarks (benchmarks/, docs/benchmarks.md): `make test` runs only bench-smoke. BENCH_ARGS adds options to
# nodeport_bench.py, EXPOSE_BENCH_ARGS to expose_bench.py (e.g. EXPOSE_BENCH_ARGS="--profile --json /tmp/expose.json"),
# WATCH_BENCH_ARGS to watch_bench.py. BENCH_KIND is the kind cluster of the kind benchmarks (made if missing, deleted
# after only then).
BENCH_KIND ?= hostreach-bench
bench: link k8s-build ## kind_nodeport vs kubernetes.core.k8s loop vs kubectl loop vs the floor, N=10,100,500; expose.yml on kind, N=10,100,300; the watch agent; a fleet of 1-20 SSH laptops
	$(RUN) python -m benchmarks.nodeport_bench --sizes 10,100,500 --reps 5 --loop-reps 2 $(BENCH_ARGS)
	$(RUN) python -m benchmarks.expose_bench --sizes 10,100,300 --reps 3 --kind $(BENCH_KIND) $(EXPOSE_BENCH_ARGS)
	$(RUN) python -m benchmarks.watch_bench --services 20 --reps 3 --idle 600 --kind $(BENCH_KIND) $(WATCH_BENCH_ARGS)
	$(RUN) python -m benchmarks.fleet_bench --sizes 1,5,10,20 --reps 2 --kind $(BENCH_KIND)
	$(RUN) python -m benchmarks.conf_bench --sizes 1000,10000,100000 --reps 3

bench-smoke: link k8s-build ## the benchmarks at their smallest size (CI); fail only on errors, never on ratios or targets
	$(RUN) python -m benchmarks.nodeport_bench --sizes 10 --reps 2 --loop-reps 1 $(BENCH_ARGS)
	$(RUN) python -m benchmarks.expose_bench --sizes 10 --reps 1 --kind $(BENCH_KIND) $(EXPOSE_BENCH_ARGS)
	$(RUN) python -m benchmarks.watch_bench --services 2 --reps 1 --idle 5 --kind $(BENCH_KIND) $(WATCH_BENCH_ARGS)
	$(RUN) python -m benchmarks.fleet_bench --sizes 1,2 --reps 1 --kind $(BENCH_KIND)
	$(RUN) python -m benchmarks.conf_bench --sizes 1000 --reps 1

build: ## installable tarball in .build/
	$(RUN) ansible-galaxy collection build --force --output-path .build .

doc: link
	$(RUN) ansible-doc hostreach.kind.docker_bridge_routes >/dev/null

clean:
	rm -rf .build .pytest_cache .ruff_cache
