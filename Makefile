# tfc: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
MODELS  := models
SHARED  := ../shared/models
TINY    := https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K

.PHONY: all build deps models run screenshot web test stress fuzz bench clean

all: build

build:
	$(GO) build -o tfc ./cmd/tfc

# deps installs QEMU, NASM and Bochs (with its BIOS, the VGA BIOS and the
# text-terminal display the tests run it with), SeaBIOS (the BIOS tfc web's
# pages boot with) and Chromium (the browser the web page's test drives)
# with apt-get where they are missing: as root it runs apt-get update first
# (a fresh machine's package lists can be empty); otherwise it prints the
# command to run. Then the v86 emulator from npm into web/node_modules.
deps:
	@missing=""; \
	command -v qemu-system-i386 >/dev/null || missing="$$missing qemu-system-x86"; \
	command -v nasm >/dev/null || missing="$$missing nasm"; \
	command -v objdump >/dev/null || missing="$$missing binutils"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	for p in bochs bochs-term bochsbios vgabios seabios; do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: qemu-system-i386, nasm, objdump, bochs, seabios and chromium are installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: missing$$missing; run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; fi
	@if [ -f web/node_modules/v86/build/libv86.js ]; then echo "deps: v86 is installed (web/node_modules)"; \
	elif command -v npm >/dev/null; then echo "deps: npm ci in web/ (v86)"; cd web && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "deps: npm is missing: tfc web and its test need v86 (install Node.js and npm, then make deps)"; fi

# models copies the stories260K checkpoint and its tokenizer into models/
# (ignored by git) from ../shared/models when it exists, else downloads them.
models: $(MODELS)/stories260K.bin $(MODELS)/tok512.bin

$(MODELS)/%.bin:
	@mkdir -p $(MODELS)
	@if [ -f $(SHARED)/$*.bin ]; then cp $(SHARED)/$*.bin $@; \
	else echo "downloading $*.bin"; curl -fsSL -o $@ $(TINY)/$*.bin; fi

run: deps models build
	./tfc run examples/llama2.tf

# web writes a page that boots the story in the browser (v86) into site/
# and serves it at http://localhost:8086/ until interrupted.
WEBADDR ?= localhost:8086
web: deps models build
	./tfc web examples/llama2.tf -o site --serve $(WEBADDR)

# screenshot boots the story and writes the screen it leaves to
# docs/screenshot.png (the README's picture).
screenshot: deps models build
	@mkdir -p docs
	./tfc run examples/llama2.tf --screenshot docs/screenshot.png > /dev/null

# test: the differential tests boot 40 generated programs in every
# configuration: 607 to 659 s beside the other packages on a 2-core
# machine (clean-clone .ci/run at ece4887 and 1559372), 357.6 s at
# 372f8a5 and 310.5 s at 3a4f75b (the whole runs 9m52s and 9m04s),
# against go test's default 10 minutes a package. The timeout leaves them room and still catches a hang.
# GOGC=400 as in cmd/tfc (unless set): the tests build in their own
# process, and the size policy's allocation search is garbage-heavy (14
# loop builds in one test binary at 3a4f75b, alternated, a stress run on
# the other core: 36.3 and 35.1 s at 100, 24.2 and 23.8 s at 400).
test:
	@unformatted=$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOGC=$${GOGC:-400} $(GO) test -timeout 20m ./...

# stress runs the differential tester over N generated programs (seeds
# SEED, SEED+1, …): each in the simulator and booted in every configuration,
# failures reduced and kept in stress-failures/.
N    ?= 500
SEED ?= 1
stress:
	$(GO) run ./cmd/stress -n $(N) -seed $(SEED) -reduce -keep stress-failures

# fuzz runs each fuzz target for FUZZTIME (default 1m).
FUZZTIME ?= 1m
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzEncode -fuzztime=$(FUZZTIME) ./codegen/x86_16/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./parser/
	$(GO) test -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./checkpoint/
	$(GO) test -run='^$$' -fuzz='^FuzzParseTokenizer$$' -fuzztime=$(FUZZTIME) ./checkpoint/

bench: models build
	$(GO) test -run='^$$' -bench=. ./...

clean:
	rm -f tfc
