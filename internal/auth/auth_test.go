package auth

import (
	"regexp"
	"testing"
)

func TestAPIKeyFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		key, prefix, hash := NewAPIKey()
		if !regexp.MustCompile(`^jk_[0-9A-Za-z]{43}$`).MatchString(key) {
			t.Fatalf("key %q is not jk_ + 43 base62 characters (32 random bytes)", key)
		}
		if prefix != key[:9] || hash != HashToken(key) || len(hash) != 64 || hash == key {
			t.Fatalf("prefix %q hash %q", prefix, hash)
		}
		if seen[key] {
			t.Fatal("duplicate key")
		}
		seen[key] = true
	}
	if Base62([]byte{0}) != "00" || Base62([]byte{255}) != "47" {
		t.Fatalf("base62: %q %q", Base62([]byte{0}), Base62([]byte{255}))
	}
}

func TestPasswords(t *testing.T) {
	if _, err := HashPassword("short"); err != ErrWeakPassword {
		t.Fatalf("short password: %v", err)
	}
	h, err := HashPassword("a good long password")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$`).MatchString(h) {
		t.Fatalf("not a PHC argon2id string: %s", h)
	}
	if !CheckPassword(h, "a good long password") || CheckPassword(h, "a good long passworD") {
		t.Fatal("password check is wrong")
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=x$a$b", "$bcrypt$whatever$a$b$c"} {
		if CheckPassword(bad, "a good long password") {
			t.Fatalf("malformed hash %q accepted", bad)
		}
	}
	h2, _ := HashPassword("a good long password")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestRolePermissions(t *testing.T) {
	want := map[Role][]Permission{
		RoleViewer:  {PermRead, PermAuditRead},
		RoleSupport: {PermRead, PermAuditRead, PermContactsWrite, PermJobsWrite},
		RoleAdmin:   {PermRead, PermAuditRead, PermContactsWrite, PermJobsWrite, PermKeysManage, PermTenantsManage, PermOperatorsWrite},
		RoleOwner:   AllPermissions,
	}
	for role, perms := range want {
		for _, p := range AllPermissions {
			has := false
			for _, q := range perms {
				has = has || q == p
			}
			if role.Can(p) != has {
				t.Errorf("%s.Can(%s) = %v, want %v", role, p, role.Can(p), has)
			}
		}
	}
	key := Actor{Type: ActorKey, TenantIDs: []string{"tn_a"}}
	if key.Can(PermTenantsManage) || key.Can(PermOperatorsWrite) || !key.Can(PermKeysManage) {
		t.Error("tenant key permissions")
	}
	if !key.SeesTenant("tn_a") || key.SeesTenant("tn_b") || key.TenantFilter()[0] != "tn_a" {
		t.Error("tenant key reach")
	}
	if _, err := ParseRole("wizard"); err == nil {
		t.Error("unknown role accepted")
	}
}
