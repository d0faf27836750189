/* The extension password rule (prov_password.h). A SIP password is
 * guessed online by registration floods, so the rule refuses what such
 * tools try first: short, uniform or blank passwords, the user name
 * (the extension) or the tenant's name inside it, and the most common
 * passwords. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "prov_password.h"

/* The top of the public breach lists at 8 characters or more (shorter
 * ones fail the length rule already). Compared case-insensitively. */
static const char *const common[] = {
	"password", "password1", "password12", "password123", "passw0rd",
	"p@ssw0rd", "12345678", "123456789", "1234567890", "0123456789",
	"87654321", "12341234", "11223344", "qwertyui", "qwertyuiop",
	"qwerty123", "qwerty12", "1q2w3e4r", "1q2w3e4r5t", "zaq12wsx",
	"1qaz2wsx", "asdfghjk", "asdfghjkl", "zxcvbnm1", "iloveyou",
	"sunshine", "princess", "football", "baseball", "welcome1",
	"welcome123", "letmein1", "trustno1", "superman", "starwars",
	"abc12345", "abcd1234", "admin123", "administrator", "changeme",
	"secret123", "master12", "whatever", "dragon12", "computer",
	"internet", "michelle", "jennifer", "corvette", "mercedes",
	"samsung1", "voip1234", "sip12345", "asterisk", "freeswitch",
	"kamailio",
};

/* Case-insensitive strstr. */
static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!n)
		return false;
	for (; *hay; hay++) {
		if (!strncasecmp(hay, needle, n))
			return true;
	}
	return false;
}

static int refuse(char *why, size_t size, const char *text)
{
	if (why && size)
		snprintf(why, size, "%s", text);
	return -EINVAL;
}

int prov_password_check(const char *password, const char *ext,
			const char *tenant, const char *tenant_name,
			char *why, size_t size)
{
	size_t len = password ? strlen(password) : 0;
	bool blank = true, uniform = true;

	if (why && size)
		why[0] = '\0';
	if (len < PROV_PASSWORD_MIN || len > PROV_PASSWORD_MAX) {
		if (why && size)
			snprintf(why, size,
				 "password must be %d to %d characters",
				 PROV_PASSWORD_MIN, PROV_PASSWORD_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isspace((unsigned char)password[i]))
			blank = false;
		if (password[i] != password[0])
			uniform = false;
	}
	if (blank)
		return refuse(why, size,
			      "password must not be only spaces");
	if (uniform)
		return refuse(why, size,
			      "password must not be one character repeated");
	if (ext && ext[0] && strstr(password, ext))
		return refuse(why, size,
			      "password must not contain the extension "
			      "number");
	if ((tenant && strlen(tenant) >= PROV_PASSWORD_NAME_MIN &&
	     contains(password, tenant)) ||
	    (tenant_name && strlen(tenant_name) >= PROV_PASSWORD_NAME_MIN &&
	     contains(password, tenant_name)))
		return refuse(why, size,
			      "password must not contain the tenant's name");
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		if (!strcasecmp(password, common[i]))
			return refuse(why, size,
				      "password is one of the most common "
				      "passwords; choose another");
	}
	return 0;
}
