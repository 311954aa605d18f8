package main

// The lookup tables that need a database or directory client register
// themselves with restrict/table when imported: the fullserver offers
// all of Postfix's (mysql:, pgsql:, ldap:) wherever main.cf takes a
// table.
import (
	_ "github.com/yubinmail/yubin/restrict/table/ldaptable"
	_ "github.com/yubinmail/yubin/restrict/table/mysqltable"
	_ "github.com/yubinmail/yubin/restrict/table/pgsqltable"
)
