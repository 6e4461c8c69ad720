package helm

import (
	"bytes"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The prometheus-operator types are not a dependency of lifeboat; these mirror the
// monitoring.coreos.com/v1 fields (names and types as in the operator's API) that the chart
// may render, so that a misspelt or misplaced field fails here. crds_test.go gives the
// test kube-apiserver the same schema for the strict server-side dry run.

type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		JobLabel          string               `json:"jobLabel,omitempty"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port          string `json:"port,omitempty"`
			Path          string `json:"path,omitempty"`
			Scheme        string `json:"scheme,omitempty"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
			HonorLabels   bool   `json:"honorLabels,omitempty"`
			Authorization *struct {
				Type        string `json:"type,omitempty"`
				Credentials *struct {
					Name string `json:"name"`
					Key  string `json:"key"`
				} `json:"credentials,omitempty"`
			} `json:"authorization,omitempty"`
			TLSConfig *struct {
				CA                 *secretOrConfigMap `json:"ca,omitempty"`
				Cert               *secretOrConfigMap `json:"cert,omitempty"`
				KeySecret          *secretKeyRef      `json:"keySecret,omitempty"`
				ServerName         string             `json:"serverName,omitempty"`
				InsecureSkipVerify bool               `json:"insecureSkipVerify,omitempty"`
			} `json:"tlsConfig,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

type secretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

type secretOrConfigMap struct {
	Secret    *secretKeyRef `json:"secret,omitempty"`
	ConfigMap *secretKeyRef `json:"configMap,omitempty"`
}

type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            ruleSpec          `json:"spec"`
}

// customDecode strictly decodes a ServiceMonitor or PrometheusRule.
func customDecode(kind string, doc []byte) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var into any
	switch kind {
	case "ServiceMonitor":
		into = &serviceMonitor{}
	case "PrometheusRule":
		into = &prometheusRule{}
	default:
		return fmt.Errorf("no schema for kind %s", kind)
	}
	if err := decodeStrict(js, into); err != nil {
		return fmt.Errorf("strict decode into the prometheus-operator %s fields: %w", kind, err)
	}
	return nil
}

// decodeStrict decodes JSON into a typed value; unknown fields are errors.
func decodeStrict(js []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}
