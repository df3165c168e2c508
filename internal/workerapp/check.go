package workerapp

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/batonhq/baton/workflows"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// CheckSearchAttributes fails with the commands to run when the namespace
// lacks a search attribute the workflows set: without it every lead would
// stop at its first state change.
func CheckSearchAttributes(ctx context.Context, cl client.Client, namespace string) error {
	resp, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of namespace %s: %w", namespace, err)
	}
	var missing []string
	for name, typ := range workflows.SearchAttributes {
		if _, ok := resp.GetCustomAttributes()[name]; !ok {
			missing = append(missing, fmt.Sprintf("  temporal operator search-attribute create --namespace %s --name %s --type %s", namespace, name, typ))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return fmt.Errorf("namespace %s lacks Baton's search attributes; register them with:\n%s", namespace, strings.Join(missing, "\n"))
}
