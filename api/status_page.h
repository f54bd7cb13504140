/* api/status_page.h — the status page GET / serves (api/status_page.html,
 * built in by mk/embed.sh). Private to api/. */
#ifndef FOUNT_API_STATUS_PAGE_H
#define FOUNT_API_STATUS_PAGE_H

#include <stddef.h>

extern const unsigned char api_status_page[];
extern const size_t api_status_page_len;

#endif
