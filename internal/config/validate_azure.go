package config

import (
	"net/url"

	"github.com/lifeboat-backup/lifeboat/internal/store/azure"
)

func validateAzure(p *problems, path string, a *AzureDest) {
	// The store checks the names again when it opens, but only a run would get that far:
	// the config check names the field before any backup is attempted.
	if a.Account == "" {
		p.add(field(path, "account"), "required: the storage account name")
	} else if msg := azure.ValidAccount(a.Account); msg != "" {
		p.add(field(path, "account"), "%q is not a valid storage account name; %s", a.Account, msg)
	}
	if a.Container == "" {
		p.add(field(path, "container"), "required")
	} else if msg := azure.ValidContainer(a.Container); msg != "" {
		p.add(field(path, "container"), "%q is not a valid container name; %s", a.Container, msg)
	}
	if a.Endpoint != "" {
		validateAzureEndpoint(p, field(path, "endpoint"), a)
	}
	if a.AccountKey.IsSet() && a.SASToken.IsSet() {
		p.add(field(path, "sasToken"), "set accountKey or sasToken, not both; or neither to use Workload Identity or a managed identity")
	}
	validateSecret(p, field(path, "accountKey"), a.AccountKey, false)
	validateSecret(p, field(path, "sasToken"), a.SASToken, false)
	// Blocks are 1 MiB (the SDK's minimum) to 4000 MiB (Azure's maximum).
	between(p, field(path, "blockSizeMiB"), a.BlockSizeMiB, 1, 4000, " MiB")
}

func validateAzureEndpoint(p *problems, path string, a *AzureDest) {
	u, err := url.Parse(a.Endpoint)
	switch {
	// Never echo the endpoint when it may hold a credential.
	case err != nil:
		p.add(path, "must be an http:// or https:// URL like https://%s.blob.core.windows.net", a.Account)
	case u.User != nil:
		p.add(path, "must not contain credentials (user:password@); set accountKey or sasToken instead")
	case u.RawQuery != "" || u.Fragment != "":
		p.add(path, "must not have a query; put a SAS token in sasToken ({file: /path})")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.add(path, "must be an http:// or https:// URL like https://%s.blob.core.windows.net (got %q)", a.Account, a.Endpoint)
	case u.Scheme == "http" && !a.AccountKey.IsSet() && !a.SASToken.IsSet():
		p.add(path, "http:// would send the identity's token unencrypted, which the Azure SDK refuses; use https://, "+
			"or an accountKey or sasToken with an emulator such as Azurite")
	}
}
