package auth

import "slices"

// ActorType says what kind of credential acts.
type ActorType string

// Actor types.
const (
	ActorRoot     ActorType = "root"     // the root API key
	ActorKey      ActorType = "key"      // a tenant API key
	ActorOperator ActorType = "operator" // a dashboard session
	ActorCLI      ActorType = "cli"      // a bootstrap command on the server
	ActorSystem   ActorType = "system"   // joist itself
)

// Actor is who performs an action, with what reach. Every audit entry names one.
type Actor struct {
	Type ActorType
	ID   string // key id, operator id, or "cli"/"system"
	Role Role   // operators; root, cli and system act as owner
	// AllTenants, or else TenantIDs, bounds which tenants the actor reaches.
	AllTenants bool
	TenantIDs  []string
	IP         string
	// CorrelationID of the request that acts.
	CorrelationID string
}

// Can reports whether the actor holds permission p. API keys hold every
// permission within their reach (a tenant key manages its tenant's keys and
// contacts, never tenants or operators).
func (a Actor) Can(p Permission) bool {
	switch a.Type {
	case ActorRoot, ActorCLI, ActorSystem:
		return true
	case ActorKey:
		return p != PermTenantsManage && p != PermOperatorsWrite && p != PermOwnersWrite
	case ActorOperator:
		return a.Role.Can(p)
	}
	return false
}

// SeesTenant reports whether the actor may reach tenant id.
func (a Actor) SeesTenant(id string) bool {
	return a.AllTenants || slices.Contains(a.TenantIDs, id)
}

// TenantFilter is nil for all tenants, else the tenant ids in reach.
func (a Actor) TenantFilter() []string {
	if a.AllTenants {
		return nil
	}
	if a.TenantIDs == nil {
		return []string{}
	}
	return a.TenantIDs
}

// RoleName is the role recorded in audit entries.
func (a Actor) RoleName() string {
	switch a.Type {
	case ActorOperator:
		return string(a.Role)
	case ActorKey:
		return "tenant-key"
	default:
		return string(a.Type)
	}
}
