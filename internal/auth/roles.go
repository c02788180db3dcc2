package auth

import (
	"fmt"
	"slices"
)

// Role is an operator's role.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleSupport Role = "support"
	RoleViewer  Role = "viewer"
)

// Roles lists every role, most powerful first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleSupport, RoleViewer}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("role %q is not one of owner, admin, support, viewer", s)
}

// Permission is something an actor may do.
type Permission string

// The permissions. docs/roles.md is the table of who has which.
const (
	PermRead           Permission = "read"            // see records in scope
	PermContactsWrite  Permission = "contacts.write"  // create and edit contacts
	PermKeysManage     Permission = "keys.manage"     // create and revoke tenant API keys
	PermTenantsManage  Permission = "tenants.manage"  // create tenants
	PermOperatorsWrite Permission = "operators.write" // invite operators, change roles and scope (not owners)
	PermOwnersWrite    Permission = "owners.write"    // grant or change the owner role
	PermAuditRead      Permission = "audit.read"      // read the audit log
	PermJobsWrite      Permission = "jobs.write"      // enqueue, retry and cancel jobs; pause and resume schedules
)

var rolePerms = map[Role][]Permission{
	RoleViewer:  {PermRead, PermAuditRead},
	RoleSupport: {PermRead, PermAuditRead, PermContactsWrite, PermJobsWrite},
	RoleAdmin:   {PermRead, PermAuditRead, PermContactsWrite, PermJobsWrite, PermKeysManage, PermTenantsManage, PermOperatorsWrite},
	RoleOwner:   {PermRead, PermAuditRead, PermContactsWrite, PermJobsWrite, PermKeysManage, PermTenantsManage, PermOperatorsWrite, PermOwnersWrite},
}

// AllPermissions lists every permission, for the docs table.
var AllPermissions = []Permission{PermRead, PermAuditRead, PermContactsWrite, PermJobsWrite, PermKeysManage, PermTenantsManage, PermOperatorsWrite, PermOwnersWrite}

// Can reports whether role r has permission p.
func (r Role) Can(p Permission) bool { return slices.Contains(rolePerms[r], p) }
