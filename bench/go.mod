module github.com/attest-hq/attest/bench

go 1.26.8

replace github.com/attest-hq/attest => ../

require (
	github.com/attest-hq/attest v0.0.0-00010101000000-000000000000
	github.com/bradleyjkemp/sigma-go v0.6.6
)

require (
	github.com/BobuSumisu/aho-corasick v1.0.3 // indirect
	github.com/PaesslerAG/gval v1.0.0 // indirect
	github.com/PaesslerAG/jsonpath v0.1.1 // indirect
	github.com/alecthomas/participle v0.7.1 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
