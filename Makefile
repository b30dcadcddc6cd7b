.PHONY: run test build bench

# Run the product on embedded SQLite in ./attest-data.
run:
	go run ./cmd/attest serve

# Run the whole suite on SQLite and PostgreSQL (installs what is missing).
test:
	bash scripts/test.sh

build:
	CGO_ENABLED=0 go build -o attest ./cmd/attest
