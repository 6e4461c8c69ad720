package config

import (
	"errors"
	"strings"
	"testing"
)

// Azure destinations are checked when the config is read, naming the field, with the rules
// the store applies when a run opens the destination.
func TestAzureDestination(t *testing.T) {
	tests := []struct {
		name     string
		azure    string // the destination's azure block
		want     string // the one expected problem; "" for none
		endpoint string // the endpoint after defaults, when want is ""
	}{
		{"workload identity", `{account: lifeboatbackups, container: vault}`, "", "https://lifeboatbackups.blob.core.windows.net"},
		{"account key", `{account: acct, container: backups, accountKey: {file: /k}}`, "", "https://acct.blob.core.windows.net"},
		{"SAS token", `{account: acct, container: backups, sasToken: {env: SAS}}`, "", "https://acct.blob.core.windows.net"},
		{"sovereign cloud", `{account: acct, container: backups, endpoint: "https://acct.blob.core.chinacloudapi.cn/"}`, "", "https://acct.blob.core.chinacloudapi.cn"},
		{"azurite", `{account: devstoreaccount1, container: backups, endpoint: "http://azurite:10000/devstoreaccount1", accountKey: {file: /k}}`, "", "http://azurite:10000/devstoreaccount1"},
		{"account missing", `{container: backups}`, "azure.account: required", ""},
		{"account invalid", `{account: My-Account, container: backups}`, `azure.account: "My-Account" is not a valid storage account name; storage account names are 3 to 24 lower-case letters and digits`, ""},
		{"container missing", `{account: acct}`, "azure.container: required", ""},
		{"container invalid", `{account: acct, container: Backups_1}`, `azure.container: "Backups_1" is not a valid container name`, ""},
		{"container double hyphen", `{account: acct, container: "a--b"}`, `azure.container: "a--b" is not a valid container name`, ""},
		{"key and SAS", `{account: acct, container: backups, accountKey: {file: /k}, sasToken: {file: /s}}`, "azure.sasToken: set accountKey or sasToken, not both", ""},
		{"inline key", `{account: acct, container: backups, accountKey: "s3cr3t"}`, "azure.accountKey: inline secrets are not allowed", ""},
		{"bad env name", `{account: acct, container: backups, sasToken: {env: "1SAS"}}`, `azure.sasToken.env: "1SAS" is not an environment variable name`, ""},
		{"block size too small", `{account: acct, container: backups, blockSizeMiB: -1}`, "azure.blockSizeMiB: must be between 1 and 4000 MiB (got -1)", ""},
		{"block size too large", `{account: acct, container: backups, blockSizeMiB: 5000}`, "azure.blockSizeMiB: must be between 1 and 4000 MiB (got 5000)", ""},
		{"endpoint with SAS query", `{account: acct, container: backups, endpoint: "https://acct.blob.core.windows.net/?sv=1&sig=s3cr3t"}`, "azure.endpoint: must not have a query; put a SAS token in sasToken", ""},
		{"endpoint with user-info", `{account: acct, container: backups, endpoint: "https://u:s3cr3t@acct.blob.core.windows.net"}`, "azure.endpoint: must not contain credentials", ""},
		{"endpoint without scheme", `{account: acct, container: backups, endpoint: "acct.blob.core.windows.net"}`, `azure.endpoint: must be an http:// or https:// URL like https://acct.blob.core.windows.net (got "acct.blob.core.windows.net")`, ""},
		{"http with identity", `{account: acct, container: backups, endpoint: "http://azurite:10000/acct"}`, "azure.endpoint: http:// would send the identity's token unencrypted", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(okSources + okDests + "  - {name: offsite, kind: azure, azure: " + tc.azure + "}\n"))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.Destinations[1].Azure; got.Endpoint != tc.endpoint || got.BlockSizeMiB != DefaultBlockSizeMiB {
					t.Errorf("azure after defaults = %+v, want endpoint %q and block size %d", *got, tc.endpoint, DefaultBlockSizeMiB)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 {
				t.Fatalf("Parse = %v, want exactly one problem containing %q", err, tc.want)
			}
			got := ve.Errors[0].Error()
			if !strings.HasPrefix(got, "destinations[1].") || !strings.Contains(got, tc.want) {
				t.Errorf("problem %q, want one at destinations[1] containing %q", got, tc.want)
			}
			if strings.Contains(got, "s3cr3t") {
				t.Errorf("problem %q repeats a secret", got)
			}
		})
	}
}

// The kind and its block must agree, as for every destination kind.
func TestAzureKindBlocks(t *testing.T) {
	for _, tc := range []struct{ dest, want string }{
		{`{name: a, kind: azure}`, "destinations[1].azure: required for kind azure"},
		{`{name: a, kind: s3, s3: {bucket: backups}, azure: {account: acct, container: backups}}`, "destinations[1].azure: not allowed for kind s3"},
	} {
		_, err := Parse([]byte(okSources + okDests + "  - " + tc.dest + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want %q", tc.dest, err, tc.want)
		}
	}
}
