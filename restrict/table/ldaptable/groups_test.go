package ldaptable

import (
	"context"
	"errors"
	"testing"

	"github.com/yubinmail/yubin/internal/testutil"
)

// groupLDIF adds groups to a private slapd: a group of two people with
// an address of its own and a direct outside member, a group nesting it
// with a third person and a member that does not exist, a group whose
// rfc822MailMember is terminal (a list owner), a group that names its
// members with an LDAP URL, and two groups that contain each other.
const groupLDIF = `dn: ou=Groups,dc=example,dc=com
changetype: add
objectClass: organizationalUnit
ou: Groups

dn: cn=team,ou=Groups,dc=example,dc=com
changetype: add
objectClass: groupOfNames
objectClass: extensibleObject
cn: team
mail: team@example.com
member: cn=alice,ou=People,dc=example,dc=com
member: cn=bob,ou=People,dc=example,dc=com
rfc822MailMember: guest@example.net

dn: cn=all,ou=Groups,dc=example,dc=com
changetype: add
objectClass: groupOfNames
objectClass: extensibleObject
cn: all
mail: all@example.com
member: cn=team,ou=Groups,dc=example,dc=com
member: cn=carol,ou=Staff,ou=People,dc=example,dc=com
member: cn=ghost,ou=People,dc=example,dc=com

dn: cn=owned,ou=Groups,dc=example,dc=com
changetype: add
objectClass: groupOfNames
objectClass: extensibleObject
cn: owned
mail: owned@example.com
member: cn=all,ou=Groups,dc=example,dc=com
rfc822MailMember: owner@example.org

dn: cn=dynamic,ou=Groups,dc=example,dc=com
changetype: add
objectClass: groupOfNames
objectClass: extensibleObject
cn: dynamic
mail: dynamic@example.com
member: cn=dup,ou=People,dc=example,dc=com
labeledURI: ldap:///ou=People,dc=example,dc=com?mail,uid?one?(|(uid=bob)(uid=alice))

dn: cn=loopa,ou=Groups,dc=example,dc=com
changetype: add
objectClass: extensibleObject
objectClass: organizationalRole
cn: loopa
mail: loopa@example.com
seeAlso: cn=loopb,ou=Groups,dc=example,dc=com

dn: cn=loopb,ou=Groups,dc=example,dc=com
changetype: add
objectClass: extensibleObject
objectClass: organizationalRole
cn: loopb
mail: loopb@example.com
seeAlso: cn=loopa,ou=Groups,dc=example,dc=com
`

var groupKeys = []string{"team@example.com", "all@example.com", "owned@example.com", "dynamic@example.com",
	"alice@example.com", "carol@example.org", "nobody@example.com", "guest@example.net"}

// TestPostfixLDAPTableGroups compares group expansion through
// special_result_attribute, terminal_result_attribute and
// leaf_result_attribute with Postfix's (postmap -q, postfix-ldap)
// against the same private slapd.
func TestPostfixLDAPTableGroups(t *testing.T) {
	s := testutil.StartSlapd(t)
	s.Modify(t, groupLDIF)
	head := "server_host = " + s.LDAPURL + "\nversion = 3\nsearch_base = dc=example,dc=com\nquery_filter = (mail=%s)\n"
	cases := map[string]string{
		// Members' addresses and the groups' own, recursively; a
		// member that does not exist is skipped.
		"special": head + "result_attribute = mail, rfc822MailMember\nspecial_result_attribute = member\n",
		// Only the leaves' addresses: a group's own mail is left out,
		// its direct rfc822MailMember kept (ordinary attribute).
		"leaf": head + "result_attribute = rfc822MailMember\nleaf_result_attribute = mail\nspecial_result_attribute = member\n",
		// A group with an owner (terminal) gives only the owner.
		"terminal": head + "terminal_result_attribute = rfc822MailMember\nresult_attribute = mail\nspecial_result_attribute = member\n",
		// Members named by an LDAP URL, with its own attribute list.
		"url": head + "result_attribute = mail\nspecial_result_attribute = member, labeledURI\n",
		// Results formatted, through the recursion.
		"format": head + "result_attribute = mail\nspecial_result_attribute = member\nresult_format = <%s>\n",
	}
	for name, conf := range cases {
		t.Run(name, func(t *testing.T) {
			diffLDAP(t, conf, groupKeys)
		})
	}
}

// TestSlapdLDAPTableGroupLimits: groups that contain each other stop at
// recursion_limit, and a big expansion at expansion_limit, each as a
// failed lookup, not a partial or endless one.
func TestSlapdLDAPTableGroupLimits(t *testing.T) {
	s := testutil.StartSlapd(t)
	s.Modify(t, groupLDIF)
	head := "server_host = " + s.LDAPURL + "\nsearch_base = dc=example,dc=com\nquery_filter = (mail=%s)\n"
	loop, err := ParseLDAP([]byte(head+"result_attribute = mail\nspecial_result_attribute = seeAlso\nrecursion_limit = 50\n"), "loop.cf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := loop.Lookup(context.Background(), "loopa@example.com"); !errors.Is(err, ErrLDAPUnavailable) || ok {
		t.Errorf("groups in a loop: %q %v %v, want ErrLDAPUnavailable", v, ok, err)
	}
	big, err := ParseLDAP([]byte(head+"result_attribute = mail\nspecial_result_attribute = member\nexpansion_limit = 4\n"), "big.cf", nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := big.Lookup(context.Background(), "all@example.com"); !errors.Is(err, ErrLDAPUnavailable) || ok {
		t.Errorf("6 results with expansion_limit = 4: %q %v %v", v, ok, err)
	}
	if v, ok, err := big.Lookup(context.Background(), "team@example.com"); err != nil || !ok || v != "team@example.com,alice@example.com,a.liddell@example.com,bob@example.com" {
		t.Errorf("team (4 results) with expansion_limit = 4: %q %v %v", v, ok, err)
	}
}

// FuzzParseLDAPURL: any special result attribute value parses or fails
// cleanly.
func FuzzParseLDAPURL(f *testing.F) {
	f.Add("ldap:///ou=People,dc=example,dc=com?mail,uid?one?(|(uid=bob)(uid=alice))")
	f.Add("<url:ldaps://h:636/dc=x?%2a??uid=%28x%29>")
	f.Add("ldapi://%2Frun%2Fsock/??sub")
	f.Fuzz(func(t *testing.T, v string) {
		if !isLDAPURL(v) {
			return
		}
		u, err := parseLDAPURL(v)
		if err == nil && u.filter == "" {
			t.Fatalf("%q: empty filter", v)
		}
	})
}
