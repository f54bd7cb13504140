/* hsm/provider.c — pkcs11-helper lifecycle, token lookup, login, the
 * session pool and reconnection.
 *
 * pkcs11-helper owns the module: pkcs11h_initialize, registerProvider,
 * the LOCATION and INIT_ARGS (CKF_OS_LOCKING_OK: the module may use OS
 * locks, PKCS#11 v2.40 §5.4 C_Initialize) properties, initializeProvider,
 * removeProvider and terminate. It does not wrap key generation, wrapping,
 * random numbers or object search, and keeps its session handles private,
 * so fount takes a second reference on the already-loaded module with
 * dlopen(RTLD_NOLOAD) and calls C_GetFunctionList on it: the same,
 * already-initialized instance (PKCS#11 v2.40 §5.2: one function list per
 * module), whose sessions fount opens and closes itself. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pkcs11-helper-1.0/pkcs11h-token.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsm/internal.h"
#include "keygen/keygen.h"

CSP_DEFINE("HSM PIN", "CSP",
	   "[hsm] pin_file (0600) or FOUNT_HSM_PIN, read into locked memory for C_Login",
	   "entered by the operator (the file, or the service environment)",
	   "to the PKCS#11 module in C_Login only",
	   "wiped after login and at close");

static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_refs;

/* pkcs11-helper's log lines go to fount's log: they carry function names
 * and CK_RVs, never a PIN (pkcs11-helper logs PIN pointers, not text).
 * PRINTF_LIKE(3, 0) marks |fmt| as a vprintf format, so clang's
 * -Wformat-nonliteral accepts passing it on to vsnprintf. */
static void log_hook(void *const data, const unsigned flags, const char *const fmt, va_list ap)
	PRINTF_LIKE(3, 0);
static void log_hook(void *const data, const unsigned flags, const char *const fmt, va_list ap)
{
	char line[512];
	UNUSED(data);
	vsnprintf(line, sizeof(line), fmt, ap);
	switch (flags) {
	case PKCS11H_LOG_ERROR: log_warn("pkcs11-helper: %s", line); break;
	case PKCS11H_LOG_WARN: log_info("pkcs11-helper: %s", line); break;
	default: log_debug("pkcs11-helper: %s", line); break;
	}
}

err_t hsm_global_get(void)
{
	err_t r = ERR_OK;
	pthread_mutex_lock(&global_lock);
	if (global_refs == 0) {
		CK_RV rv = pkcs11h_initialize();
		if (rv == CKR_OK)
			rv = pkcs11h_setLogHook(log_hook, NULL);
		if (rv == CKR_OK)
			pkcs11h_setLogLevel(log_get_level() >= LOG_DEBUG ? PKCS11H_LOG_INFO
									: PKCS11H_LOG_WARN);
		if (rv != CKR_OK) {
			r = hsm_log_rv(NULL, "pkcs11h_initialize", rv);
			(void)pkcs11h_terminate();
			goto out;
		}
	}
	global_refs++;
out:
	pthread_mutex_unlock(&global_lock);
	return r;
}

void hsm_global_put(void)
{
	pthread_mutex_lock(&global_lock);
	if (global_refs > 0 && --global_refs == 0)
		(void)pkcs11h_terminate();
	pthread_mutex_unlock(&global_lock);
}

/* The initialize arguments must outlive initializeProvider, which keeps
 * the pointer. */
static CK_C_INITIALIZE_ARGS init_args = {.flags = CKF_OS_LOCKING_OK};

static err_t hsm_provider_add(const char *reference, const char *module)
{
	CK_C_INITIALIZE_ARGS_PTR args = &init_args;
	const char *location = module;
	struct stat st;
	CK_RV rv;

	/* a clearer answer than the loader's for the commonest mistake */
	if (module[0] == '\0' || stat(module, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_warn("hsm: PKCS#11 module '%s' not found", module);
		return ERR_HSM_MODULE;
	}
	if ((rv = pkcs11h_registerProvider(reference)) != CKR_OK)
		return hsm_log_rv(NULL, "pkcs11h_registerProvider", rv);
	/* LOCATION is a string property: pkcs11-helper copies the text */
	rv = pkcs11h_setProviderProperty(reference, PKCS11H_PROVIDER_PROPERTY_LOCATION,
					 location, strlen(location) + 1);
	if (rv == CKR_OK)
		rv = pkcs11h_setProviderProperty(reference, PKCS11H_PROVIDER_PROPERTY_INIT_ARGS,
						 &args, sizeof(args));
	if (rv == CKR_OK)
		rv = pkcs11h_initializeProvider(reference);
	if (rv != CKR_OK) {
		(void)hsm_log_rv(NULL, "pkcs11h_initializeProvider", rv);
		(void)pkcs11h_removeProvider(reference);
		return ERR_HSM_MODULE;
	}
	return ERR_OK;
}

static void hsm_provider_remove(const char *reference)
{
	CK_RV rv = pkcs11h_removeProvider(reference);
	if (rv != CKR_OK)
		(void)hsm_log_rv(NULL, "pkcs11h_removeProvider", rv);
}

/* ---- the shared modules ---------------------------------------------------- */

#define MAX_MODULES 8
static struct hsm_module modules[MAX_MODULES];
static unsigned module_seq;

/* load_locked: global_lock held */
static err_t load_locked(struct hsm_module *m)
{
	err_t r = ERR_HSM_MODULE;
	CK_C_GetFunctionList get = NULL;
	snprintf(m->reference, sizeof(m->reference), "fount-%u", ++module_seq);
	GUARD(hsm_provider_add(m->reference, m->path));
	m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	ENSURE_GOTO(m->dl != NULL, ERR_HSM_MODULE);
	*(void **)&get = dlsym(m->dl, "C_GetFunctionList");
	ENSURE_GOTO(get != NULL, ERR_HSM_MODULE);
	ENSURE_GOTO(get(&m->fn) == CKR_OK && m->fn != NULL, ERR_HSM_MODULE);
	m->loaded = true;
	m->gen++;
	r = ERR_OK;
out:
	if (r != ERR_OK) {
		if (m->dl != NULL)
			dlclose(m->dl);
		m->dl = NULL;
		m->fn = NULL;
		hsm_provider_remove(m->reference);
	}
	return r;
}

static void unload_locked(struct hsm_module *m)
{
	if (!m->loaded)
		return;
	m->fn = NULL;
	dlclose(m->dl);
	m->dl = NULL;
	hsm_provider_remove(m->reference); /* C_Finalize (§5.4) and dlclose */
	m->loaded = false;
	m->gen++;
}

err_t hsm_module_get(const char *path, struct hsm_module **out)
{
	err_t r = ERR_OK;
	struct hsm_module *m = NULL, *free_slot = NULL;
	pthread_mutex_lock(&global_lock);
	for (size_t i = 0; i < MAX_MODULES; i++) {
		if (modules[i].refs > 0 && strcmp(modules[i].path, path) == 0)
			m = &modules[i];
		else if (modules[i].refs == 0 && free_slot == NULL)
			free_slot = &modules[i];
	}
	if (m == NULL) {
		ENSURE_GOTO(free_slot != NULL, ERR_TOO_LARGE);
		m = free_slot;
		memset(m, 0, sizeof(*m));
		snprintf(m->path, sizeof(m->path), "%s", path);
	}
	if (!m->loaded)
		GUARD_GOTO(load_locked(m));
	m->refs++;
	*out = m;
out:
	pthread_mutex_unlock(&global_lock);
	return r;
}

void hsm_module_put(struct hsm_module *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&global_lock);
	if (m->refs > 0 && --m->refs == 0)
		unload_locked(m);
	pthread_mutex_unlock(&global_lock);
}

err_t hsm_module_reload(struct hsm_module *m, unsigned seen)
{
	err_t r = ERR_OK;
	pthread_mutex_lock(&global_lock);
	if (m->refs > 1 && m->loaded) {
		/* Another handle ([hsm.NAME] with the same module) may be inside
		 * a PKCS#11 call on this module's function list right now:
		 * C_Finalize and dlclose under it would be a use after free.
		 * Sessions are reopened without a reload instead; a module that
		 * learns of tokens only in C_Initialize (SoftHSM) then needs a
		 * restart of fount to see a re-created token. */
		log_warn("hsm: %s is shared by several HSM sections: not reloading it",
			 m->path);
		goto out;
	}
	if (m->gen == seen || !m->loaded) {
		unload_locked(m);
		r = load_locked(m);
	}
out:
	pthread_mutex_unlock(&global_lock);
	return r;
}

/* ---- the PIN ----------------------------------------------------------- */

/* read_pin puts the user PIN in |pin| (secure memory of HSM_PIN_MAX bytes):
 * from FOUNT_HSM_PIN (FOUNT_HSM_<NAME>_PIN for [hsm.NAME]) if set, else
 * from the pin file (trailing newline dropped). */
static err_t read_pin(struct hsm *h, char *pin, size_t *pin_len)
{
	char env[96];
	int n = snprintf(env, sizeof(env), "FOUNT_HSM%s%s_PIN", h->name[0] ? "_" : "", h->name);
	if (n < 0 || (size_t)n >= sizeof(env))
		return ERR_INTERNAL;
	for (char *p = env; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	char *v = getenv(env);
	if (v != NULL && h->env_pin == NULL) {
		size_t len = strlen(v);
		if (len == 0 || len >= HSM_PIN_MAX)
			return ERR_HSM_PIN_MISSING;
		err_t r = ERR_NOMEM;
		char *keep = secmem_alloc(HSM_PIN_MAX, &r);
		if (keep == NULL)
			return r;
		memcpy(keep, v, len);
		/* the environment is ordinary memory that /proc/PID/environ shows
		 * and children inherit: wipe the PIN there, keep it locked here.
		 * (unsetenv is not thread-safe against getenv elsewhere: hsm_open
		 * runs before serve starts its threads.) */
		secure_zero(v, len);
		(void)unsetenv(env);
		h->env_pin = keep;
		h->env_pin_len = len;
	}
	if (h->env_pin != NULL) {
		memcpy(pin, h->env_pin, h->env_pin_len);
		*pin_len = h->env_pin_len;
		return ERR_OK;
	}
	if (h->pin_file[0] == '\0')
		return ERR_HSM_PIN_MISSING;

	/* one byte of the buffer stays free for a terminating NUL */
	unsigned mode = 0;
	size_t len = 0;
	err_t r = file_read_bounded(h->pin_file, (uint8_t *)pin, HSM_PIN_MAX - 1, &len, &mode);
	if (r == ERR_IO) {
		log_warn("hsm: cannot open PIN file %s: %s", h->pin_file, strerror(errno));
		return ERR_HSM_PIN_MISSING;
	}
	if (r != ERR_OK)
		return r;
	if ((mode & 077) != 0)
		log_warn("hsm: PIN file %s is readable by others (chmod 600 it)", h->pin_file);
	while (len > 0 && (pin[len - 1] == '\n' || pin[len - 1] == '\r'))
		pin[--len] = '\0';
	if (len == 0) {
		secure_zero(pin, HSM_PIN_MAX);
		return ERR_HSM_PIN_MISSING;
	}
	*pin_len = len;
	return ERR_OK;
}

/* ---- token lookup ------------------------------------------------------ */

/* padded_eq compares a NUL-terminated |want| with a space-padded PKCS#11
 * text field (PKCS#11 v2.40 §3.2 CK_TOKEN_INFO: blank-padded, no NUL). */
static bool padded_eq(const CK_UTF8CHAR *field, size_t field_len, const char *want)
{
	size_t n = strlen(want);
	if (n > field_len || memcmp(field, want, n) != 0)
		return false;
	for (size_t i = n; i < field_len; i++)
		if (field[i] != ' ')
			return false;
	return true;
}

static CK_RV find_slot(struct hsm *h, CK_SLOT_ID *out)
{
	CK_SLOT_ID slots[64];
	CK_ULONG n = ARRAY_SIZE(slots);
	bool by_serial = strncmp(h->token, "serial:", 7) == 0;
	const char *want = by_serial ? h->token + 7 : h->token;
	CK_RV rv = h->fn->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (h->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		bool match = by_serial ? padded_eq(ti.serialNumber, sizeof(ti.serialNumber), want)
				       : padded_eq(ti.label, sizeof(ti.label), want);
		/* an empty token setting takes the first initialized token */
		if (match || want[0] == '\0') {
			*out = slots[i];
			return CKR_OK;
		}
	}
	return CKR_TOKEN_NOT_PRESENT;
}

/* ---- connect / disconnect (h->lock held) --------------------------------- */

/* disconnect_locked closes this handle's sessions; with |reload| it also
 * reloads the module (the token went away). */
static void disconnect_locked(struct hsm *h, bool reload)
{
	bool live = h->mod != NULL && h->mod->loaded && h->mod_gen == h->mod->gen;
	for (unsigned i = 0; i < HSM_POOL_MAX; i++) {
		/* only our own sessions: others on the same token stay open */
		if (live && h->pool[i] != CK_INVALID_HANDLE)
			(void)h->fn->C_CloseSession(h->pool[i]);
		h->pool[i] = CK_INVALID_HANDLE;
		h->busy[i] = false;
	}
	h->nbusy = 0;
	h->fn = NULL;
	h->connected = false;
	if (reload && h->mod != NULL && hsm_module_reload(h->mod, h->mod_gen) != ERR_OK)
		log_warn("hsm%s%s: cannot reload %s", h->name[0] ? "." : "", h->name, h->module);
}

static err_t connect_locked(struct hsm *h)
{
	err_t r = ERR_INTERNAL;
	char *pin = NULL;
	size_t pin_len = 0;
	CK_RV rv;

	if (h->mod == NULL)
		GUARD(hsm_module_get(h->module, &h->mod));
	else if (!h->mod->loaded)
		GUARD(hsm_module_reload(h->mod, h->mod->gen));
	pthread_mutex_lock(&global_lock);
	h->fn = h->mod->fn;
	h->mod_gen = h->mod->gen;
	pthread_mutex_unlock(&global_lock);
	h->connected = true;
	rv = find_slot(h, &h->slot);
	if (rv != CKR_OK && h->reconnects > 0) {
		/* a module may learn of tokens only in C_Initialize (SoftHSM
		 * does): after a token went away, look again in a fresh load */
		GUARD_GOTO(hsm_module_reload(h->mod, h->mod_gen));
		pthread_mutex_lock(&global_lock);
		h->fn = h->mod->fn;
		h->mod_gen = h->mod->gen;
		pthread_mutex_unlock(&global_lock);
		rv = find_slot(h, &h->slot);
	}
	if (rv != CKR_OK) {
		r = hsm_rv_to_err(rv);
		log_warn("hsm%s%s: no token '%s' in %s", h->name[0] ? "." : "", h->name,
			 h->token, h->module);
		goto out;
	}
	/* the first session anchors the login: PKCS#11 v2.40 §5.6 — the login
	 * state belongs to the application and lasts while any session is open */
	rv = h->fn->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
				  &h->pool[0]);
	if (rv != CKR_OK) {
		r = hsm_log_rv(h, "C_OpenSession", rv);
		goto out;
	}
	if ((pin = secmem_alloc(HSM_PIN_MAX, &r)) == NULL)
		goto out;
	GUARD_GOTO(read_pin(h, pin, &pin_len));
	rv = h->fn->C_Login(h->pool[0], CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)pin_len);
	/* the PIN is not needed again until the next reconnect re-reads it */
	secmem_free(pin, HSM_PIN_MAX);
	pin = NULL;
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		r = hsm_log_rv(h, "C_Login", rv);
		goto out;
	}
	r = ERR_OK;
out:
	secmem_free(pin, HSM_PIN_MAX);
	if (r != ERR_OK)
		disconnect_locked(h, false);
	return r;
}

/* ---- public lifecycle ---------------------------------------------------- */

err_t hsm_open(const struct config_hsm *cfg, struct hsm **out)
{
	err_t r = ERR_INTERNAL;
	struct hsm *h = NULL;
	bool global = false;

	*out = NULL;
	ENSURE(cfg->module[0] != '\0', ERR_CONFIG);
	ENSURE(cfg->pool_size >= 1 && cfg->pool_size <= HSM_POOL_MAX, ERR_CONFIG);
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return ERR_NOMEM;
	snprintf(h->name, sizeof(h->name), "%s", cfg->name);
	snprintf(h->module, sizeof(h->module), "%s", cfg->module);
	snprintf(h->token, sizeof(h->token), "%s", cfg->token);
	snprintf(h->pin_file, sizeof(h->pin_file), "%s", cfg->pin_file);
	h->pool_size = cfg->pool_size;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);

	GUARD_GOTO(hsm_global_get());
	global = true;
	pthread_mutex_lock(&h->lock);
	r = connect_locked(h);
	pthread_mutex_unlock(&h->lock);
	if (r != ERR_OK)
		goto out;
	*out = h;
	h = NULL; /* transferred */
	global = false;
out:
	if (h != NULL) {
		hsm_module_put(h->mod);
		secmem_free(h->env_pin, HSM_PIN_MAX); /* wiped, like hsm_close does */
		pthread_cond_destroy(&h->idle);
		pthread_mutex_destroy(&h->lock);
		free(h);
	}
	if (global)
		hsm_global_put();
	return r;
}

void hsm_close(struct hsm *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	/* no C_Logout: the login is the process's, and another handle on the
	 * same token may still use it; it ends with the last session (§5.6) */
	disconnect_locked(h, false);
	pthread_mutex_unlock(&h->lock);
	hsm_module_put(h->mod);
	secmem_free(h->env_pin, HSM_PIN_MAX);
	pthread_cond_destroy(&h->idle);
	pthread_mutex_destroy(&h->lock);
	free(h);
	hsm_global_put();
}

const char *hsm_name(const struct hsm *h)
{
	return h->name;
}

unsigned hsm_reconnects(const struct hsm *h)
{
	return h->reconnects;
}

/* ---- the session pool ------------------------------------------------------ */

static err_t run(struct hsm *h, hsm_op_fn op, void *arg, const char *what)
{
	CK_RV rv = CKR_GENERAL_ERROR;

	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_mutex_lock(&h->lock);
		if (h->connected && h->mod_gen != h->mod->gen)
			disconnect_locked(h, false); /* another handle reloaded the module */
		if (!h->connected) {
			err_t r = connect_locked(h);
			if (r != ERR_OK) {
				pthread_mutex_unlock(&h->lock);
				return r;
			}
		}
		unsigned idx = HSM_POOL_MAX;
		while (idx == HSM_POOL_MAX) {
			for (unsigned i = 0; i < h->pool_size; i++) {
				if (!h->busy[i]) {
					idx = i;
					break;
				}
			}
			if (idx == HSM_POOL_MAX)
				pthread_cond_wait(&h->idle, &h->lock);
		}
		rv = CKR_OK;
		if (h->pool[idx] == CK_INVALID_HANDLE)
			rv = h->fn->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
						  NULL, NULL, &h->pool[idx]);
		h->busy[idx] = true;
		h->nbusy++;
		unsigned gen = h->generation;
		CK_SESSION_HANDLE s = h->pool[idx];
		pthread_mutex_unlock(&h->lock);

		if (rv == CKR_OK)
			rv = op(h, s, arg);

		pthread_mutex_lock(&h->lock);
		if (gen == h->generation) {
			h->busy[idx] = false;
			h->nbusy--;
		}
		pthread_cond_broadcast(&h->idle);
		if (!hsm_rv_is_gone(rv) || attempt == 1) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		/* the token, session or login went away: the first thread to see
		 * it waits for the others to return their sessions, unloads the
		 * module and lets the next attempt load it again */
		if (gen == h->generation && h->connected) {
			(void)hsm_log_rv(h, what, rv);
			log_warn("hsm%s%s: token gone; reconnecting", h->name[0] ? "." : "", h->name);
			while (h->nbusy > 0)
				pthread_cond_wait(&h->idle, &h->lock);
			disconnect_locked(h, true);
			h->generation++;
			h->reconnects++;
		}
		pthread_mutex_unlock(&h->lock);
	}
	if (rv == CKR_OK)
		return ERR_OK;
	return hsm_log_rv(h, what, rv);
}

err_t hsm_run(struct hsm *h, hsm_op_fn op, void *arg, const char *what)
{
	/* hsm/'s one entry gate: no key service, no random bytes in or out of
	 * the token, outside SELF_TEST (its KATs) and OPERATIONAL */
	ENSURE(keygen_service_allowed(), ERR_NOT_OPERATIONAL);
	return run(h, op, arg, what);
}

err_t hsm_run_inventory(struct hsm *h, hsm_op_fn op, void *arg, const char *what)
{
	return run(h, op, arg, what);
}

/* ---- listing tokens ------------------------------------------------------------ */

static void copy_field(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
	/* pkcs11-helper trims trailing blanks already; be sure */
	for (size_t n = strlen(dst); n > 0 && dst[n - 1] == ' '; n--)
		dst[n - 1] = '\0';
}

err_t hsm_list_tokens(const struct config_hsm *cfg, struct hsm_token_info *out,
		      size_t max, size_t *n)
{
	err_t r = ERR_INTERNAL;
	bool global = false;
	struct hsm_module *mod = NULL;
	pkcs11h_token_id_list_t list = NULL;

	*n = 0;
	ENSURE(cfg->module[0] != '\0', ERR_CONFIG);
	GUARD_GOTO(hsm_global_get());
	global = true;
	GUARD_GOTO(hsm_module_get(cfg->module, &mod));
	CK_RV rv = pkcs11h_token_enumTokenIds(PKCS11H_ENUM_METHOD_RELOAD, &list);
	if (rv != CKR_OK) {
		r = hsm_log_rv(NULL, "pkcs11h_token_enumTokenIds", rv);
		goto out;
	}
	for (pkcs11h_token_id_list_t e = list; e != NULL; e = e->next) {
		if (out != NULL && *n < max) {
			struct hsm_token_info *t = &out[*n];
			copy_field(t->label, sizeof(t->label), e->token_id->label);
			copy_field(t->serial, sizeof(t->serial), e->token_id->serialNumber);
			copy_field(t->manufacturer, sizeof(t->manufacturer), e->token_id->manufacturerID);
			copy_field(t->model, sizeof(t->model), e->token_id->model);
		}
		(*n)++;
	}
	r = ERR_OK;
out:
	if (list != NULL)
		(void)pkcs11h_token_freeTokenIdList(list);
	hsm_module_put(mod);
	if (global)
		hsm_global_put();
	return r;
}
