package store

import (
	"context"
	"strings"
	"time"
)

// Operator is a person on the SaaS team who uses the admin dashboard.
type Operator struct {
	ID           string
	Email        string
	Name         string
	Role         string
	AllTenants   bool
	TenantIDs    []string
	PasswordHash string
	DisabledAt   *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

const operatorCols = "id, email, name, role, all_tenants, password_hash, disabled_at, created_at, updated_at"

func scanOperator(r Row) (Operator, error) {
	var o Operator
	err := r.Scan(&o.ID, &o.Email, &o.Name, &o.Role, &o.AllTenants, &o.PasswordHash, &o.DisabledAt, &o.CreatedAt, &o.UpdatedAt)
	return o, err
}

func (tx *Tx) operatorTenants(ctx context.Context, o *Operator) error {
	if o.AllTenants {
		return nil
	}
	rows, err := tx.Query(ctx, "SELECT tenant_id FROM operator_tenants WHERE operator_id = ? ORDER BY tenant_id", o.ID)
	ids, err := Collect(rows, err, func(r Rows) (string, error) {
		var s string
		return s, r.Scan(&s)
	})
	o.TenantIDs = ids
	return err
}

// OperatorInsert stores an operator and its tenant scope. Emails are stored lower-case.
func (tx *Tx) OperatorInsert(ctx context.Context, o Operator) error {
	if _, err := tx.Exec(ctx, "INSERT INTO operators ("+operatorCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		o.ID, strings.ToLower(o.Email), o.Name, o.Role, o.AllTenants, o.PasswordHash, o.DisabledAt, o.CreatedAt, o.UpdatedAt); err != nil {
		return err
	}
	return tx.OperatorSetTenants(ctx, o)
}

// OperatorSetTenants replaces the tenants an operator reaches (none when
// o.AllTenants).
func (tx *Tx) OperatorSetTenants(ctx context.Context, o Operator) error {
	if _, err := tx.Exec(ctx, "DELETE FROM operator_tenants WHERE operator_id = ?", o.ID); err != nil {
		return err
	}
	if o.AllTenants {
		return nil
	}
	for _, t := range o.TenantIDs {
		if _, err := tx.Exec(ctx, "INSERT INTO operator_tenants (operator_id, tenant_id) VALUES (?, ?)", o.ID, t); err != nil {
			return err
		}
	}
	return nil
}

// OperatorSetPassword replaces the password hash.
func (tx *Tx) OperatorSetPassword(ctx context.Context, id, hash string, now time.Time) error {
	n, err := tx.Exec(ctx, "UPDATE operators SET password_hash = ?, updated_at = ? WHERE id = ?", hash, now, id)
	if err == nil && n == 0 {
		return ErrNotFound
	}
	return err
}

// OperatorGet finds an operator by id.
func (tx *Tx) OperatorGet(ctx context.Context, id string) (Operator, error) {
	o, err := scanOperator(tx.QueryRow(ctx, "SELECT "+operatorCols+" FROM operators WHERE id = ?", id))
	if err != nil {
		return o, err
	}
	return o, tx.operatorTenants(ctx, &o)
}

// OperatorByEmail finds an operator by email, case-insensitively.
func (tx *Tx) OperatorByEmail(ctx context.Context, email string) (Operator, error) {
	o, err := scanOperator(tx.QueryRow(ctx, "SELECT "+operatorCols+" FROM operators WHERE email = ?", strings.ToLower(email)))
	if err != nil {
		return o, err
	}
	return o, tx.operatorTenants(ctx, &o)
}

// OperatorList lists all operators by id.
func (tx *Tx) OperatorList(ctx context.Context) ([]Operator, error) {
	rows, err := tx.Query(ctx, "SELECT "+operatorCols+" FROM operators ORDER BY id")
	ops, err := Collect(rows, err, func(r Rows) (Operator, error) { return scanOperator(r) })
	if err != nil {
		return nil, err
	}
	for i := range ops {
		if err := tx.operatorTenants(ctx, &ops[i]); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

// OperatorCount counts operators.
func (tx *Tx) OperatorCount(ctx context.Context) (int, error) {
	var n int
	err := tx.QueryRow(ctx, "SELECT count(*) FROM operators").Scan(&n)
	return n, err
}

// InviteUse consumes an unexpired, unused invite and returns its operator id.
func (tx *Tx) InviteUse(ctx context.Context, tokenHash string, now time.Time) (string, error) {
	var opID string
	if err := tx.QueryRow(ctx, "SELECT operator_id FROM operator_invites WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
		tokenHash, now).Scan(&opID); err != nil {
		return "", err
	}
	_, err := tx.Exec(ctx, "UPDATE operator_invites SET used_at = ? WHERE token_hash = ?", now, tokenHash)
	return opID, err
}

// InviteValid reports the operator of an unexpired, unused invite without using it.
func (tx *Tx) InviteValid(ctx context.Context, tokenHash string, now time.Time) (string, error) {
	var opID string
	err := tx.QueryRow(ctx, "SELECT operator_id FROM operator_invites WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
		tokenHash, now).Scan(&opID)
	return opID, err
}
