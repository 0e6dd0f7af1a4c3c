/* Linux_File internals shared by the data provider (file.c) and its event
 * source: the class's name and the building of one instance. */
#pragma once

#include <sys/stat.h>

#include "class.h"
#include "error.h"
#include "instance.h"

#define FILE_CLASS "Linux_File"
#define FILE_NAMESPACE "root/cimv2"

/* The Type property for a st_mode: "File", "Directory", "SymbolicLink",
 * "CharacterDevice", "BlockDevice", "FIFO", "Socket" or "Unknown". */
const char *file_type_name(mode_t mode);

/* The Extension of a name: what follows its last '.', or "" when it has
 * none, the dot is its first character (".bashrc") or its last. Points
 * into name. */
const char *file_extension(const char *name);

/* A new instance of cls in ns for entry `name` of directory `directory`
 * (normal, fsaccess.h) with the lstat() result st. 0, -ENOMEM or a
 * WbemStatus of setting a property. */
int file_instance_new(CimClass *cls, const char *ns, const char *directory, const char *name,
                      const struct stat *st, Instance **ret, Error *err);
